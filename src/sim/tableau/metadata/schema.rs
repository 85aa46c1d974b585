//! The GraphQL schema: the subset of Tableau's Metadata API schema the simulator serves, written as
//! Tableau's own field names and type strings (checked against Tableau's published schema, see
//! docs/metadata-sim.md) and turned into an `async-graphql` dynamic schema. Arguments follow from the
//! type, as in Tableau's schema: a list of an entity takes `filter`, `orderBy` and
//! `permissionMode`; a root `…Connection` field adds `first`, `after` and `offset`.

use async_graphql::Value;
use async_graphql::dynamic::{
    Enum, Field, FieldFuture, InputObject, InputValue, Interface, InterfaceField, Object, Scalar,
    Schema, TypeRef,
};

use super::lineage::Kind;
use super::resolve;

/// `(field, type)` pairs of one object or interface type, as in Tableau's schema.
type Fields = &'static [(&'static str, &'static str)];

const TABLE_INTERFACE: Fields = &[
    ("id", "ID!"),
    ("name", "String"),
    ("description", "String"),
    ("isEmbedded", "Boolean"),
    ("downstreamDatasources", "[PublishedDatasource!]!"),
    ("downstreamWorkbooks", "[Workbook!]!"),
    ("upstreamTables", "[DatabaseTable!]!"),
];

const DATABASE_TABLE: Fields = &[
    ("luid", "String!"),
    ("schema", "String"),
    ("fullName", "String"),
    ("connectionType", "String"),
    ("projectName", "String"),
    ("isCertified", "Boolean!"),
    ("hasActiveWarning", "Boolean!"),
    ("database", "Database"),
    ("referencedByQueries", "[CustomSQLTable]"),
];

const CUSTOM_SQL_TABLE: Fields = &[
    ("query", "String"),
    ("isUnsupportedCustomSql", "Boolean"),
    ("connectionType", "String"),
    ("database", "Database"),
    ("tables", "[DatabaseTable!]!"),
];

const DATASOURCE_INTERFACE: Fields = &[
    ("id", "ID!"),
    ("name", "String"),
    ("hasExtracts", "Boolean"),
    ("extractLastRefreshTime", "DateTime"),
    ("extractLastUpdateTime", "DateTime"),
    ("extractLastIncrementalUpdateTime", "DateTime"),
    ("containsUnsupportedCustomSql", "Boolean"),
    ("createdAt", "DateTime"),
    ("updatedAt", "DateTime"),
    ("upstreamTables", "[DatabaseTable!]!"),
    ("downstreamWorkbooks", "[Workbook!]!"),
];

const PUBLISHED_DATASOURCE: Fields = &[
    ("luid", "String!"),
    ("description", "String"),
    ("projectName", "String"),
    ("isCertified", "Boolean!"),
    ("hasActiveWarning", "Boolean!"),
    ("upstreamDatasources", "[PublishedDatasource!]!"),
    ("downstreamDatasources", "[PublishedDatasource!]!"),
];

const EMBEDDED_DATASOURCE: Fields = &[
    ("workbook", "Workbook"),
    ("upstreamDatasources", "[PublishedDatasource!]!"),
    ("parentPublishedDatasources", "[PublishedDatasource!]!"),
];

const WORKBOOK: Fields = &[
    ("id", "ID!"),
    ("luid", "String!"),
    ("name", "String"),
    ("description", "String"),
    ("projectName", "String"),
    ("projectLuid", "String"),
    ("containerName", "String"),
    ("containsUnsupportedCustomSql", "Boolean"),
    ("createdAt", "DateTime!"),
    ("updatedAt", "DateTime!"),
    ("embeddedDatasources", "[EmbeddedDatasource!]!"),
    ("upstreamDatasources", "[PublishedDatasource]!"),
    ("upstreamTables", "[DatabaseTable]!"),
];

const DATABASE_INTERFACE: Fields = &[
    ("id", "ID!"),
    ("luid", "String!"),
    ("name", "String"),
    ("description", "String"),
    ("connectionType", "String"),
    ("isEmbedded", "Boolean"),
    ("isCertified", "Boolean!"),
    ("hasActiveWarning", "Boolean!"),
    ("tables", "[DatabaseTable]"),
];

const DATABASE_SERVER: Fields = &[
    ("hostName", "String"),
    ("port", "Int"),
    ("service", "String"),
];

const PAGE_INFO: Fields = &[("endCursor", "String"), ("hasNextPage", "Boolean!")];

/// Filter input fields per entity (all of Tableau's, so any real filter validates; the simulator
/// applies the ones listed in docs/metadata-sim.md and refuses the others at run time).
const FILTERS: &[(&str, &[(&str, &str)])] = &[
    (
        "DatabaseTable",
        &[
            ("connectionType", "String"),
            ("fullName", "String"),
            ("hasActiveWarning", "Boolean"),
            ("id", "ID"),
            ("isCertified", "Boolean"),
            ("isEmbedded", "Boolean"),
            ("luid", "String"),
            ("name", "String"),
            ("projectName", "String"),
            ("schema", "String"),
        ],
    ),
    (
        "CustomSQLTable",
        &[
            ("id", "ID"),
            ("isUnsupportedCustomSql", "Boolean"),
            ("name", "String"),
        ],
    ),
    (
        "PublishedDatasource",
        &[
            ("containerName", "String"),
            ("containsUnsupportedCustomSql", "Boolean"),
            ("hasActiveWarning", "Boolean"),
            ("id", "ID"),
            ("isCertified", "Boolean"),
            ("luid", "String"),
            ("name", "String"),
            ("projectName", "String"),
            ("vizportalUrlId", "String"),
        ],
    ),
    (
        "EmbeddedDatasource",
        &[
            ("containsUnsupportedCustomSql", "Boolean"),
            ("id", "ID"),
            ("name", "String"),
        ],
    ),
    (
        "Workbook",
        &[
            ("containerName", "String"),
            ("containsUnsupportedCustomSql", "Boolean"),
            ("id", "ID"),
            ("luid", "String"),
            ("name", "String"),
            ("projectLuid", "String"),
            ("projectName", "String"),
            ("vizportalUrlId", "String"),
        ],
    ),
];

/// `…OrderField` enum values per entity.
const ORDER_FIELDS: &[(&str, &[&str])] = &[
    (
        "DatabaseTable",
        &[
            "COLUMNS_COUNT",
            "CONNECTION_TYPE",
            "DOWNSTREAM_DASHBOARDS_COUNT",
            "DOWNSTREAM_DATASOURCES_COUNT",
            "DOWNSTREAM_VIRTUAL_CONNECTIONS_COUNT",
            "DOWNSTREAM_WORKBOOKS_COUNT",
            "FULL_NAME",
            "HAS_ACTIVE_WARNING",
            "ID",
            "IS_CERTIFIED",
            "IS_EMBEDDED",
            "LUID",
            "NAME",
            "PROJECT_NAME",
            "SCHEMA",
        ],
    ),
    (
        "CustomSQLTable",
        &[
            "COLUMNS_COUNT",
            "DOWNSTREAM_DASHBOARDS_COUNT",
            "DOWNSTREAM_DATASOURCES_COUNT",
            "DOWNSTREAM_WORKBOOKS_COUNT",
            "ID",
            "IS_UNSUPPORTED_CUSTOM_SQL",
            "NAME",
        ],
    ),
    (
        "PublishedDatasource",
        &[
            "CONTAINER_NAME",
            "CONTAINS_UNSUPPORTED_CUSTOM_SQL",
            "DOWNSTREAM_OWNERS_COUNT",
            "DOWNSTREAM_SHEETS_COUNT",
            "DOWNSTREAM_WORKBOOKS_COUNT",
            "FIELDS_COUNT",
            "HAS_ACTIVE_WARNING",
            "ID",
            "IS_CERTIFIED",
            "LUID",
            "NAME",
            "OWNER_COUNT",
            "PROJECT_NAME",
            "VIZPORTAL_URL_ID",
        ],
    ),
    (
        "EmbeddedDatasource",
        &[
            "CONTAINS_UNSUPPORTED_CUSTOM_SQL",
            "DOWNSTREAM_OWNERS_COUNT",
            "DOWNSTREAM_WORKBOOKS_COUNT",
            "FIELDS_COUNT",
            "ID",
            "NAME",
        ],
    ),
    (
        "Workbook",
        &[
            "CONTAINER_NAME",
            "CONTAINS_UNSUPPORTED_CUSTOM_SQL",
            "DASHBOARDS_COUNT",
            "EMBEDDED_DATASOURCES_COUNT",
            "ID",
            "LUID",
            "NAME",
            "OWNER_COUNT",
            "PROJECT_LUID",
            "PROJECT_NAME",
            "SHEETS_COUNT",
            "VIEWS_COUNT",
            "VIZPORTAL_URL_ID",
        ],
    ),
];

/// `"[DatabaseTable!]!"` → the matching `TypeRef`.
pub(super) fn type_ref(text: &str) -> TypeRef {
    if let Some(inner) = text.strip_suffix('!') {
        return TypeRef::NonNull(Box::new(type_ref(inner)));
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return TypeRef::List(Box::new(type_ref(inner)));
    }
    TypeRef::Named(text.to_owned().into())
}

/// The entity a list type holds (`"[Workbook]!"` → `Workbook`), when it is a listable entity.
fn list_entity(ty: &str) -> Option<&str> {
    ty.starts_with('[')
        .then(|| ty.trim_matches(|c| matches!(c, '[' | ']' | '!')))
}

/// The arguments Tableau gives a list of `entity` (`connection` adds the paging ones).
fn arguments(entity: &str, connection: bool) -> Vec<InputValue> {
    let mut args = Vec::new();
    if connection {
        args.push(InputValue::new("after", TypeRef::named(TypeRef::STRING)));
        args.push(InputValue::new("first", TypeRef::named(TypeRef::INT)));
        args.push(InputValue::new("offset", TypeRef::named(TypeRef::INT)));
    }
    args.push(InputValue::new(
        "filter",
        TypeRef::named(format!("{entity}_Filter")),
    ));
    args.push(InputValue::new(
        "orderBy",
        TypeRef::named(format!("{entity}SortOrder")),
    ));
    args.push(
        InputValue::new("permissionMode", TypeRef::named("PermissionMode"))
            .default_value(Value::Enum(async_graphql::Name::new("OBFUSCATE_RESULTS"))),
    );
    args
}

fn field(type_name: &'static str, name: &'static str, ty: &'static str) -> Field {
    let mut field = Field::new(name, type_ref(ty), move |ctx| {
        FieldFuture::new(async move { resolve::field(&ctx, type_name, name, ty) })
    });
    if let Some(entity) = list_entity(ty).filter(|_| name != "nodes") {
        for arg in arguments(entity, false) {
            field = field.argument(arg);
        }
    }
    field
}

fn object(name: &'static str, parts: &[Fields], interfaces: &[&str]) -> Object {
    let mut object = Object::new(name);
    for interface in interfaces {
        object = object.implement(*interface);
    }
    for (field_name, ty) in parts.iter().flat_map(|p| p.iter()) {
        object = object.field(field(name, field_name, ty));
    }
    object
}

fn interface(name: &str, fields: Fields) -> Interface {
    let mut interface = Interface::new(name);
    for (field_name, ty) in fields {
        let mut field = InterfaceField::new(*field_name, type_ref(ty));
        if let Some(entity) = list_entity(ty) {
            for arg in arguments(entity, false) {
                field = field.argument(arg);
            }
        }
        interface = interface.field(field);
    }
    interface
}

/// The schema, resolved against the lineage in the schema's data (see `resolve`).
pub(super) fn build(data: resolve::Data) -> anyhow::Result<Schema> {
    let mut query = Object::new("Query");
    for kind in Kind::ALL {
        let entity = kind.type_name();
        let list = Field::new(
            kind.root_field(),
            type_ref(&format!("[{entity}!]!")),
            move |ctx| FieldFuture::new(async move { resolve::root(&ctx, kind, false) }),
        );
        let connection = Field::new(
            format!("{}Connection", kind.root_field()),
            TypeRef::named_nn(kind.connection_type()),
            move |ctx| FieldFuture::new(async move { resolve::root(&ctx, kind, true) }),
        );
        query = query
            .field(
                arguments(entity, false)
                    .into_iter()
                    .fold(list, Field::argument),
            )
            .field(
                arguments(entity, true)
                    .into_iter()
                    .fold(connection, Field::argument),
            );
    }
    let mut builder = Schema::build("Query", None, None)
        .register(query)
        .register(Scalar::new("DateTime"))
        .register(Enum::new("PermissionMode").items(["FILTER_RESULTS", "OBFUSCATE_RESULTS"]))
        .register(Enum::new("OrderDirection").items(["ASC", "DESC"]))
        .register(interface("Table", TABLE_INTERFACE))
        .register(interface("Datasource", DATASOURCE_INTERFACE))
        .register(interface("Database", DATABASE_INTERFACE))
        .register(object(
            "DatabaseTable",
            &[TABLE_INTERFACE, DATABASE_TABLE],
            &["Table"],
        ))
        .register(object(
            "CustomSQLTable",
            &[TABLE_INTERFACE, CUSTOM_SQL_TABLE],
            &["Table"],
        ))
        .register(object(
            "PublishedDatasource",
            &[DATASOURCE_INTERFACE, PUBLISHED_DATASOURCE],
            &["Datasource"],
        ))
        .register(object(
            "EmbeddedDatasource",
            &[DATASOURCE_INTERFACE, EMBEDDED_DATASOURCE],
            &["Datasource"],
        ))
        .register(object("Workbook", &[WORKBOOK], &[]))
        .register(object(
            "DatabaseServer",
            &[DATABASE_INTERFACE, DATABASE_SERVER],
            &["Database"],
        ))
        .register(object("PageInfo", &[PAGE_INFO], &[]));
    for kind in Kind::ALL {
        let nodes = format!("[{}!]!", kind.type_name());
        let connection = Object::new(kind.connection_type())
            .field(Field::new("nodes", type_ref(&nodes), move |ctx| {
                FieldFuture::new(async move { resolve::page(&ctx, "nodes") })
            }))
            .field(Field::new(
                "pageInfo",
                TypeRef::named_nn("PageInfo"),
                |ctx| FieldFuture::new(async move { resolve::page(&ctx, "pageInfo") }),
            ))
            .field(Field::new(
                "totalCount",
                TypeRef::named_nn(TypeRef::INT),
                |ctx| FieldFuture::new(async move { resolve::page(&ctx, "totalCount") }),
            ));
        builder = builder.register(connection);
    }
    for (entity, fields) in FILTERS {
        let mut input = InputObject::new(format!("{entity}_Filter"));
        for (name, ty) in *fields {
            input = input
                .field(InputValue::new(*name, type_ref(ty)))
                .field(InputValue::new(
                    format!("{name}Within"),
                    type_ref(&format!("[{ty}]")),
                ));
        }
        if matches!(*entity, "DatabaseTable" | "CustomSQLTable") {
            input = input.field(InputValue::new("text", TypeRef::named(TypeRef::STRING)));
        }
        builder = builder.register(input);
    }
    for (entity, values) in ORDER_FIELDS {
        builder = builder
            .register(Enum::new(format!("{entity}OrderField")).items(values.iter().copied()))
            .register(
                InputObject::new(format!("{entity}SortOrder"))
                    .field(InputValue::new(
                        "direction",
                        TypeRef::named_nn("OrderDirection"),
                    ))
                    .field(InputValue::new(
                        "field",
                        TypeRef::named_nn(format!("{entity}OrderField")),
                    )),
            );
    }
    Ok(builder.data(data).finish()?)
}
