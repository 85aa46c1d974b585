//! The XML face of the simulator's documents. Tableau's JSON is a mechanical mapping of its XML
//! (reference §0): an object is an element, a string is an attribute, an array is the element repeated,
//! and `"value"` is the text of an element that also has attributes. This module applies that mapping
//! both ways: answers are built once as JSON values and rendered as `<tsResponse>` here, and XML request
//! bodies (`<tsRequest>`) are read into the same JSON shape the JSON bodies have.

use quick_xml::escape::partial_escape;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use serde_json::{Map, Value};

/// The namespace of every `tsResponse` (TSC test assets; TSC also knows the pre-2.3
/// `http://tableausoftware.com/api`, which no supported version uses).
const NAMESPACE: &str = "http://tableau.com/api";

/// Strings that the server sends as child elements with text, not as attributes (serverInfo's
/// `restApiVersion`, a job's `notes`, an error's `summary` and `detail`; TSC test assets
/// `server_info_get.xml`, `job_get_by_id.xml`, `auth_sign_in_error.xml`).
const TEXT_ELEMENTS: &[&str] = &["restApiVersion", "notes", "summary", "detail"];

/// Deep enough for any request the simulator reads (`tsRequest/credentials/site` is 3).
const MAX_DEPTH: usize = 16;

/// `{"serverInfo":{…}}` → `<?xml …?><tsResponse xmlns=…><serverInfo>…</serverInfo></tsResponse>`.
/// `api_version` names the schema in `xsi:schemaLocation`, as the real server does.
pub(super) fn render(document: &Value, api_version: &str) -> String {
    let schema = api_version.replace('.', "_");
    let mut out = format!(
        "<?xml version='1.0' encoding='UTF-8'?><tsResponse xmlns=\"{NAMESPACE}\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:schemaLocation=\"{NAMESPACE} https://help.tableau.com/samples/en-us/rest_api/ts-api_{schema}.xsd\">"
    );
    if let Value::Object(children) = document {
        children_xml(&mut out, children);
    }
    out.push_str("</tsResponse>");
    out
}

/// The child elements of an object, in the order the server writes them: `pagination` before the
/// list, an error's `summary` before its `detail` (the map itself is sorted by key).
fn children_xml(out: &mut String, object: &Map<String, Value>) {
    let rank = |key: &str| match key {
        "pagination" => 0,
        "summary" => 1,
        "detail" => 2,
        _ => 3,
    };
    let mut children: Vec<(&String, &Value)> = object
        .iter()
        .filter(|(key, value)| is_child(key, value))
        .collect();
    children.sort_by_key(|(key, _)| rank(key));
    for (key, value) in children {
        match value {
            Value::Array(items) => items.iter().for_each(|item| element(out, key, item)),
            _ => element(out, key, value),
        }
    }
}

/// Whether `key: value` of an object is written as a child element rather than as an attribute.
fn is_child(key: &str, value: &Value) -> bool {
    match value {
        Value::Object(_) | Value::Array(_) => true,
        Value::String(_) => TEXT_ELEMENTS.contains(&key),
        _ => false,
    }
}

fn element(out: &mut String, name: &str, value: &Value) {
    out.push('<');
    out.push_str(name);
    let Value::Object(object) = value else {
        // A bare string: an element whose only content is its text.
        out.push('>');
        out.push_str(&partial_escape(scalar(value)));
        out.push_str("</");
        out.push_str(name);
        out.push('>');
        return;
    };
    for (key, attribute) in object {
        if key == "value" || is_child(key, attribute) {
            continue;
        }
        out.push(' ');
        out.push_str(key);
        out.push_str("=\"");
        out.push_str(&attribute_text(&scalar(attribute)));
        out.push('"');
    }
    let text = object
        .get("value")
        .filter(|v| !v.is_object() && !v.is_array());
    let has_children = object
        .iter()
        .any(|(key, v)| key != "value" && is_child(key, v));
    if text.is_none() && !has_children {
        out.push_str("/>");
        return;
    }
    out.push('>');
    if let Some(text) = text {
        out.push_str(&partial_escape(scalar(text)));
    }
    children_xml(out, object);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// An attribute value between `"`: `<`, `>`, `&` and `"` escaped, `'` left as the server leaves it
/// (TSC test asset `server_info_404.xml`).
fn attribute_text(text: &str) -> String {
    partial_escape(text).replace('"', "&quot;")
}

/// The text of a scalar JSON value (the simulator's documents hold strings; numbers and booleans
/// are written the way JSON writes them).
fn scalar(value: &Value) -> std::borrow::Cow<'_, str> {
    match value {
        Value::String(text) => text.as_str().into(),
        Value::Null => "".into(),
        other => other.to_string().into(),
    }
}

/// Read a `<tsRequest>` body into the JSON shape of the same request: `<tsRequest/>` is `{}`,
/// `<tsRequest><credentials a="1"><site contentUrl=""/></credentials></tsRequest>` is
/// `{"credentials":{"a":"1","site":{"contentUrl":""}}}`. Namespaces are ignored; a repeated element
/// becomes an array. `None` for anything that is not one well-formed `tsRequest` document, or that
/// carries a DOCTYPE (no entity tricks in a test server either).
pub(super) fn parse_request(text: &str) -> Option<Value> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);
    // (element name, its object) for every open element; the root is `tsRequest`.
    let mut open: Vec<(String, Map<String, Value>)> = Vec::new();
    let mut root: Option<Map<String, Value>> = None;
    loop {
        match reader.read_event().ok()? {
            Event::Start(start) => {
                if root.is_some() || open.len() >= MAX_DEPTH {
                    return None;
                }
                open.push(start_element(&start)?);
            }
            Event::Empty(start) => {
                if root.is_some() {
                    return None;
                }
                let (name, object) = start_element(&start)?;
                match open.last_mut() {
                    Some((_, parent)) => insert_child(parent, name, object),
                    None if name == "tsRequest" => root = Some(object),
                    None => return None,
                }
            }
            Event::End(_) => {
                let (name, object) = open.pop()?;
                match open.last_mut() {
                    Some((_, parent)) => insert_child(parent, name, object),
                    None if name == "tsRequest" => root = Some(object),
                    None => return None,
                }
            }
            Event::Eof => break,
            Event::DocType(_) => return None,
            // Text between elements (none of the bodies read here has any), comments, the
            // declaration and processing instructions carry nothing the handlers read.
            _ => {}
        }
    }
    if !open.is_empty() {
        return None;
    }
    root.map(Value::Object)
}

/// The local name and the attributes (as strings) of a start tag; `xmlns` bindings are dropped.
fn start_element(start: &BytesStart<'_>) -> Option<(String, Map<String, Value>)> {
    let name = start.local_name().as_ref().to_owned();
    let mut object = Map::new();
    for attribute in start.attributes() {
        let attribute = attribute.ok()?;
        let raw_key = attribute.key.as_ref();
        if raw_key == "xmlns" || raw_key.starts_with("xmlns:") {
            continue;
        }
        let key = attribute.key.local_name().as_ref().to_owned();
        let value = attribute.normalized_value(XmlVersion::Implicit1_0).ok()?;
        object.insert(key, Value::String(value.into_owned()));
    }
    Some((name, object))
}

fn insert_child(parent: &mut Map<String, Value>, name: String, object: Map<String, Value>) {
    let child = Value::Object(object);
    match parent.get_mut(&name) {
        Some(Value::Array(items)) => items.push(child),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, child]);
        }
        None => {
            parent.insert(name, child);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_render_as_attributes_elements_and_text() {
        let document = json!({
            "pagination": {"pageNumber": "1", "pageSize": "1", "totalAvailable": "3"},
            "workbooks": {"workbook": [
                {"id": "w1", "name": "P&L \"Q1\" <x>", "project": {"id": "p", "name": "Finance"}, "tags": {}},
                {"id": "w2", "name": "B"},
            ]},
        });
        let xml = render(&document, "3.24");
        assert!(xml.starts_with(
            "<?xml version='1.0' encoding='UTF-8'?><tsResponse xmlns=\"http://tableau.com/api\""
        ));
        assert!(xml.contains("ts-api_3_24.xsd"));
        assert!(xml.contains(
            "<pagination pageNumber=\"1\" pageSize=\"1\" totalAvailable=\"3\"/><workbooks>"
        ));
        assert!(xml.contains(
            "<workbook id=\"w1\" name=\"P&amp;L &quot;Q1&quot; &lt;x&gt;\"><project id=\"p\" name=\"Finance\"/><tags/></workbook>"
        ));
        assert!(xml.contains("<workbook id=\"w2\" name=\"B\"/></workbooks></tsResponse>"));
    }

    #[test]
    fn text_elements_and_value_text_follow_the_server() {
        let info = json!({"serverInfo": {
            "productVersion": {"value": "2024.2.0", "build": "20242.24.0711.1636"},
            "restApiVersion": "3.24",
        }});
        assert!(render(&info, "3.24").contains(
            "<serverInfo><productVersion build=\"20242.24.0711.1636\">2024.2.0</productVersion>\
             <restApiVersion>3.24</restApiVersion></serverInfo>"
        ));
        let error =
            json!({"error": {"code": "401001", "summary": "Signin Error", "detail": "a & b"}});
        assert!(render(&error, "3.24").contains(
            "<error code=\"401001\"><summary>Signin Error</summary><detail>a &amp; b</detail></error>"
        ));
    }

    #[test]
    fn requests_read_into_the_json_shape() {
        let signin = r#"<?xml version="1.0"?>
            <tsRequest xmlns="http://tableau.com/api">
              <credentials personalAccessTokenName="dbt" personalAccessTokenSecret="s&amp;cret">
                <site contentUrl="" />
              </credentials>
            </tsRequest>"#;
        assert_eq!(
            parse_request(signin),
            Some(json!({"credentials": {
                "personalAccessTokenName": "dbt",
                "personalAccessTokenSecret": "s&cret",
                "site": {"contentUrl": ""},
            }}))
        );
        assert_eq!(parse_request("<tsRequest/>"), Some(json!({})));
        assert_eq!(parse_request("<tsRequest></tsRequest>"), Some(json!({})));
        assert_eq!(
            parse_request("<tsRequest><extractRefresh incremental=\"true\" /></tsRequest>"),
            Some(json!({"extractRefresh": {"incremental": "true"}}))
        );
        assert_eq!(
            parse_request("<tsRequest><a/><a x=\"1\"/></tsRequest>"),
            Some(json!({"a": [{}, {"x": "1"}]}))
        );
    }

    #[test]
    fn anything_but_one_well_formed_ts_request_is_refused() {
        for body in [
            "",
            "{}",
            "<tsResponse/>",
            "<tsRequest>",
            "<tsRequest><a></b></tsRequest>",
            "<tsRequest/><tsRequest/>",
            "<!DOCTYPE x [<!ENTITY e \"x\">]><tsRequest/>",
            "<tsRequest a=\"&undefined;\"/>",
        ] {
            assert_eq!(parse_request(body), None, "{body}");
        }
    }
}
