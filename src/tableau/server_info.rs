//! The `serverinfo` answer in either dialect: JSON (asked for with `Accept: application/json`,
//! served since REST API 2.5) or XML (what a Tableau Server 10.1, API 2.4, answers whatever
//! `Accept` says). The body decides, not the header: the first non-blank byte is `{` or `<`.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

use super::error::TableauError;
use super::model::{ProductVersion, ServerInfo, ServerInfoEnvelope};

/// The namespace of Tableau's XML answers.
const TABLEAU_NS: &str = "http://tableau.com/api";

/// Reads a `serverinfo` answer from its body; `content_type` only improves the error message.
pub fn parse(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<ServerInfo, TableauError> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    let unreadable = |what: String| {
        TableauError::Decode(format!(
            "serverinfo answer: {what} (HTTP {status}, {})",
            content_type.unwrap_or("no Content-Type")
        ))
    };
    match text.as_bytes().first() {
        Some(b'{') => serde_json::from_str::<ServerInfoEnvelope>(text)
            .map(|envelope| envelope.server_info)
            .map_err(|err| {
                unreadable(format!(
                    "not the expected JSON at line {} column {}",
                    err.line(),
                    err.column()
                ))
            }),
        Some(b'<') => from_xml(text).map_err(unreadable),
        Some(_) => Err(unreadable("neither JSON nor XML".into())),
        None => Err(unreadable("empty".into())),
    }
}

/// `<tsResponse><serverInfo><productVersion build="…">10.1.0</productVersion>
/// <restApiVersion>2.4</restApiVersion></serverInfo></tsResponse>`, read with quick-xml. quick-xml
/// never expands entities; a DTD is refused outright, and so is any reference but a character
/// reference or one of XML's five predefined entities, so nothing can expand.
fn from_xml(text: &str) -> Result<ServerInfo, String> {
    read_xml(text).map_err(|err| {
        if text
            .get(..200)
            .unwrap_or(text)
            .to_ascii_lowercase()
            .contains("<html")
        {
            "an HTML page, not Tableau's XML".to_string()
        } else {
            err
        }
    })
}

/// The first `serverInfo` element (Tableau's namespace or none) and its two children.
fn read_xml(text: &str) -> Result<ServerInfo, String> {
    let malformed = |err: &dyn std::fmt::Display| format!("not well-formed XML ({err})");
    let mut reader = NsReader::from_str(text);
    // How many elements are open.
    let mut depth = 0usize;
    // The depth of the `serverInfo` being read; whether one was read.
    let mut info_at: Option<usize> = None;
    let mut seen = false;
    // The child of `serverInfo` being read, and its text so far.
    let mut child: Option<(String, String)> = None;
    let mut rest_api_version = None;
    let mut product_version: Option<ProductVersion> = None;
    loop {
        let (namespace, event) = reader.read_resolved_event().map_err(|e| malformed(&e))?;
        let tableau = match namespace {
            ResolveResult::Unbound => true,
            ResolveResult::Bound(ns) => ns.as_ref() == TABLEAU_NS,
            ResolveResult::Unknown(_) => false,
        };
        match event {
            Event::DocType(_) => return Err("XML with a DTD, refused".into()),
            Event::Start(start) => {
                depth += 1;
                let name = start.local_name().as_ref().to_owned();
                if info_at.is_none() && !seen && tableau && name == "serverInfo" {
                    info_at = Some(depth);
                } else if info_at == Some(depth - 1) && tableau {
                    if name == "productVersion" {
                        product_version = Some(ProductVersion {
                            value: None,
                            build: build_of(&start)?,
                        });
                    }
                    child = Some((name, String::new()));
                }
            }
            Event::Empty(start) => {
                let name = start.local_name().as_ref().to_owned();
                if info_at == Some(depth) && tableau && name == "productVersion" {
                    product_version = Some(ProductVersion {
                        value: None,
                        build: build_of(&start)?,
                    });
                }
            }
            Event::Text(content) => {
                if let Some((_, value)) = &mut child {
                    value.push_str(&content.xml10_content());
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().map_err(|e| malformed(&e))? {
                    Some(c) => c.to_string(),
                    None => resolve_predefined_entity(&reference.xml10_content())
                        .ok_or_else(|| {
                            "XML with an entity that is not predefined, refused".to_string()
                        })?
                        .to_string(),
                };
                if let Some((_, value)) = &mut child {
                    value.push_str(&resolved);
                }
            }
            Event::End(_) => {
                if info_at == Some(depth - 1)
                    && let Some((name, value)) = child.take()
                {
                    let value = Some(value.trim().to_string()).filter(|v| !v.is_empty());
                    match name.as_str() {
                        "restApiVersion" => rest_api_version = value,
                        "productVersion" => {
                            if let Some(product) = &mut product_version {
                                product.value = value;
                            }
                        }
                        _ => {}
                    }
                }
                if info_at == Some(depth) {
                    info_at = None;
                    seen = true;
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            // The declaration, comments, CDATA and processing instructions carry nothing here.
            _ => {}
        }
    }
    if depth != 0 {
        return Err("not well-formed XML (an element is not closed)".into());
    }
    if !seen {
        return Err("XML without a serverInfo element".into());
    }
    let rest_api_version =
        rest_api_version.ok_or_else(|| "XML serverInfo without a restApiVersion".to_string())?;
    Ok(ServerInfo {
        product_version,
        rest_api_version,
    })
}

/// The `build` attribute of `productVersion`.
fn build_of(start: &BytesStart<'_>) -> Result<Option<String>, String> {
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|err| format!("not well-formed XML ({err})"))?;
        if attribute.key.local_name().as_ref() == "build" {
            let value = attribute
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| format!("an unreadable build attribute ({err})"))?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json() {
        let info = parse(
            200,
            Some("application/json"),
            br#"{"serverInfo":{"productVersion":{"value":"2024.2.0","build":"20242.24.0711.1636"},"restApiVersion":"3.23"}}"#,
        )
        .expect("json");
        assert_eq!(info.rest_api_version, "3.23");
        assert_eq!(
            info.product_version.and_then(|p| p.value).as_deref(),
            Some("2024.2.0")
        );
    }

    /// The shape of TSC's `server_info_get.xml` asset, whatever the Content-Type says.
    #[test]
    fn reads_xml_whatever_the_header_says() {
        let body = br#"
            <?xml version='1.0' encoding='UTF-8'?>
            <tsResponse xmlns="http://tableau.com/api" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://tableau.com/api http://tableau.com/api/ts-api-2.4.xsd">
              <serverInfo>
                <productVersion build="10100.16.1024.2100">10.1.0</productVersion>
                <restApiVersion> 2.4 </restApiVersion>
              </serverInfo>
            </tsResponse>"#;
        for content_type in [
            Some("application/xml;charset=UTF-8"),
            Some("application/json"),
            None,
        ] {
            let info = parse(200, content_type, body).expect("xml");
            assert_eq!(info.rest_api_version, "2.4");
            let product = info.product_version.expect("product");
            assert_eq!(product.value.as_deref(), Some("10.1.0"));
            assert_eq!(product.build.as_deref(), Some("10100.16.1024.2100"));
        }
        let refs = b"<tsResponse><serverInfo><restApiVersion>&#51;.1&#x30;</restApiVersion></serverInfo></tsResponse>";
        assert_eq!(
            parse(200, None, refs).expect("xml").rest_api_version,
            "3.10"
        );
        let bare = b"<tsResponse><serverInfo><restApiVersion>3.10</restApiVersion></serverInfo></tsResponse>";
        assert_eq!(
            parse(200, None, bare).expect("xml").rest_api_version,
            "3.10"
        );
    }

    #[test]
    fn other_answers_are_errors_that_say_what_came() {
        let html = b"<!DOCTYPE html><html><body>Sign in</body></html>";
        let err = parse(200, Some("text/html"), html).expect_err("html");
        assert!(err.to_string().contains("HTML page"), "{err}");
        let entity = br#"<!DOCTYPE x [<!ENTITY a "aaaaaaaa">]><tsResponse><serverInfo><restApiVersion>&a;</restApiVersion></serverInfo></tsResponse>"#;
        assert!(parse(200, None, entity).is_err());
        let other = b"<tsResponse><error code=\"404003\"/></tsResponse>";
        assert!(
            parse(200, None, other)
                .expect_err("no info")
                .to_string()
                .contains("without a serverInfo")
        );
        assert!(
            parse(200, None, b"  ")
                .expect_err("empty")
                .to_string()
                .contains("empty")
        );
        assert!(
            parse(200, None, b"{\"x\":1}")
                .expect_err("json")
                .to_string()
                .contains("JSON")
        );
        assert!(
            parse(200, None, b"OK")
                .expect_err("text")
                .to_string()
                .contains("neither")
        );
        let foreign = b"<a xmlns=\"urn:other\"><serverInfo><restApiVersion>3.1</restApiVersion></serverInfo></a>";
        assert!(parse(200, None, foreign).is_err());
        // quick-xml expands no entity itself; a DTD, an external entity or an undeclared one is
        // refused, never fetched or expanded.
        let external = br#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><tsResponse><serverInfo><restApiVersion>&e;</restApiVersion></serverInfo></tsResponse>"#;
        let err = parse(200, None, external).expect_err("external entity");
        assert!(err.to_string().contains("DTD"), "{err}");
        let undeclared = b"<tsResponse><serverInfo><restApiVersion>&e;</restApiVersion></serverInfo></tsResponse>";
        let err = parse(200, None, undeclared).expect_err("undeclared entity");
        assert!(err.to_string().contains("entity"), "{err}");
        let unclosed = b"<tsResponse><serverInfo><restApiVersion>3.1</restApiVersion></serverInfo>";
        assert!(parse(200, None, unclosed).is_err());
        let mismatched =
            b"<tsResponse><serverInfo><restApiVersion>3.1</restApiVersion></x></tsResponse>";
        assert!(parse(200, None, mismatched).is_err());
    }
}
