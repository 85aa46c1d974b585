//! The `serverinfo` answer in either dialect: JSON (asked for with `Accept: application/json`,
//! served since REST API 2.5) or XML (what a Tableau Server 10.1, API 2.4, answers whatever
//! `Accept` says). The body decides, not the header: the first non-blank byte is `{` or `<`.

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
/// <restApiVersion>2.4</restApiVersion></serverInfo></tsResponse>`. A DTD is refused by the
/// parser (its default), so no entity can expand.
fn from_xml(text: &str) -> Result<ServerInfo, String> {
    let document = roxmltree::Document::parse(text).map_err(|err| {
        if text
            .get(..200)
            .unwrap_or(text)
            .to_ascii_lowercase()
            .contains("<html")
        {
            "an HTML page, not Tableau's XML".to_string()
        } else {
            format!("not well-formed XML ({err})")
        }
    })?;
    let tableau = |node: &roxmltree::Node, name: &str| {
        node.is_element()
            && node.tag_name().name() == name
            && matches!(node.tag_name().namespace(), None | Some(TABLEAU_NS))
    };
    let info = document
        .descendants()
        .find(|node| tableau(node, "serverInfo"))
        .ok_or_else(|| "XML without a serverInfo element".to_string())?;
    let child = |name: &str| info.children().find(|node| tableau(node, name));
    let text_of = |node: roxmltree::Node| node.text().map(|t| t.trim().to_string());
    let rest_api_version = child("restApiVersion")
        .and_then(text_of)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| "XML serverInfo without a restApiVersion".to_string())?;
    let product_version = child("productVersion").map(|node| ProductVersion {
        value: text_of(node).filter(|v| !v.is_empty()),
        build: node.attribute("build").map(str::to_string),
    });
    Ok(ServerInfo {
        product_version,
        rest_api_version,
    })
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
    }
}
