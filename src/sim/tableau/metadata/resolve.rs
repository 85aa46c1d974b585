//! Field resolution: every field of every served type reads the lineage graph through one function,
//! so the schema's table and the graph are the only places that know field names.

use std::sync::Arc;

use async_graphql::dynamic::{FieldValue, ResolverContext};
use async_graphql::{Error, ErrorExtensions as _, Value};

use super::lineage::{Graph, Kind, Node};
use super::paging::{self, Page};

/// Schema data: the lineage every request reads.
pub(super) struct Data {
    pub(super) graph: Arc<Graph>,
}

/// Request data: the contentUrl of the session's site (REST content is per site).
pub(super) struct Site(pub(super) String);

/// What an object value of the schema carries.
pub(super) enum Obj {
    Node(Node),
    Page(Page),
    PageInfo {
        end_cursor: Option<String>,
        has_next_page: bool,
    },
}

type Answer = async_graphql::Result<Option<FieldValue<'static>>>;

/// An error as the Metadata API words its own: `extensions.code` and `extensions.severity`.
pub(super) fn error(code: &str, message: &str) -> Error {
    Error::new(message).extend_with(|_, e| {
        e.set("code", code);
        e.set("severity", "ERROR");
    })
}

/// The interfaces of the served schema: a value of one must name its object type.
const INTERFACES: [&str; 3] = ["Table", "Datasource", "Database"];

fn node_value(node: Node) -> FieldValue<'static> {
    FieldValue::owned_any(Obj::Node(node))
}

/// A node for a field of type `ty` (an SDL type string): typed when `ty` is an interface, bare
/// otherwise (the executor hands a typed value's wrapper, not the node, to object fields).
fn value_for(ty: &str, node: Node) -> FieldValue<'static> {
    let base = ty.trim_matches(|c| matches!(c, '[' | ']' | '!'));
    if INTERFACES.contains(&base) {
        node_value(node).with_type(node.type_name())
    } else {
        node_value(node)
    }
}

fn context<'a>(ctx: &ResolverContext<'a>) -> async_graphql::Result<(&'a Graph, &'a str)> {
    let graph = &ctx.data::<Data>()?.graph;
    let site = ctx.data::<Site>().map_or("", |s| s.0.as_str());
    Ok((graph, site))
}

/// A root list (`databaseTables`) or connection (`databaseTablesConnection`).
pub(super) fn root(ctx: &ResolverContext<'_>, kind: Kind, connection: bool) -> Answer {
    let (graph, site) = context(ctx)?;
    let nodes: Vec<Node> = graph
        .all(kind)
        .into_iter()
        .filter(|n| graph.visible(*n, site))
        .collect();
    let nodes = paging::select(graph, nodes, &ctx.args)?;
    if !connection {
        return Ok(Some(FieldValue::list(nodes.into_iter().map(node_value))));
    }
    let page = paging::page(kind, nodes, &ctx.args)?;
    Ok(Some(FieldValue::owned_any(Obj::Page(page))))
}

/// A field of a connection object.
pub(super) fn page(ctx: &ResolverContext<'_>, field: &str) -> Answer {
    let Some(Obj::Page(page)) = ctx.parent_value.downcast_ref::<Obj>() else {
        return Err(Error::new("connection field outside a connection"));
    };
    Ok(Some(match field {
        "nodes" => FieldValue::list(page.nodes.iter().copied().map(node_value)),
        "pageInfo" => FieldValue::owned_any(Obj::PageInfo {
            end_cursor: page.end_cursor.clone(),
            has_next_page: page.has_next_page,
        }),
        _ => FieldValue::value(Value::from(page.total_count as i32)),
    }))
}

/// Any field of a node (or of `PageInfo`); `ty` is the field's type.
pub(super) fn field(ctx: &ResolverContext<'_>, type_name: &str, name: &str, ty: &str) -> Answer {
    let parent = ctx.parent_value.downcast_ref::<Obj>();
    let node = match parent {
        Some(Obj::Node(node)) => *node,
        Some(Obj::PageInfo {
            end_cursor,
            has_next_page,
        }) => {
            return Ok(match name {
                "endCursor" => end_cursor
                    .clone()
                    .map(|c| FieldValue::value(Value::from(c))),
                _ => Some(FieldValue::value(Value::from(*has_next_page))),
            });
        }
        _ => return Err(Error::new(format!("{type_name}.{name} outside its object"))),
    };
    let (graph, site) = context(ctx)?;
    if let Some(nodes) = graph.list(node, name) {
        let nodes = nodes
            .into_iter()
            .filter(|n| graph.visible(*n, site))
            .collect();
        let nodes = paging::select(graph, nodes, &ctx.args)?;
        return Ok(Some(FieldValue::list(
            nodes.into_iter().map(|n| value_for(ty, n)),
        )));
    }
    if let Some(one) = graph.one(node, name) {
        return Ok(one
            .filter(|n| graph.visible(*n, site))
            .map(|n| value_for(ty, n)));
    }
    match graph.scalar(node, name) {
        Some(serde_json::Value::Null) => Ok(None),
        Some(value) => Ok(Some(FieldValue::value(Value::from_json(value)?))),
        // A schema field the graph does not know: a bug in the simulator, said plainly.
        None => Err(Error::new(format!(
            "the simulator does not serve {type_name}.{name}"
        ))),
    }
}
