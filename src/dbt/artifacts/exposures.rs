//! Which Tableau items an exposure names: `meta.tableau` (REF strings, as in the `workbooks`
//! input), else its `url` when that is a Tableau address on the configured site. The host of the
//! url is not compared: Tableau Cloud addresses a site through several hosts (pods).

use reqwest::Url;

use super::manifest::Exposure;
use crate::tableau::{Kind, Reference};

/// One item an exposure names, before it is looked up on the site.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ItemRef {
    /// A REF from `meta.tableau`: `Project/Name`, a unique `Name`, or a LUID.
    Reference(Kind, Reference),
    /// `/#/site/SITE/workbooks/N…` or `/datasources/N…`: N is the number at the end of the
    /// item's `webpageUrl`.
    WebId(Kind, String),
    /// `/#/site/SITE/views/WORKBOOK/SHEET`: the workbook whose `contentUrl` is WORKBOOK.
    WorkbookContentUrl(String),
}

impl ItemRef {
    pub fn kind(&self) -> Kind {
        match self {
            ItemRef::Reference(kind, _) | ItemRef::WebId(kind, _) => *kind,
            ItemRef::WorkbookContentUrl(_) => Kind::Workbook,
        }
    }

    /// For the report: what the exposure said.
    pub fn describe(&self) -> String {
        match self {
            ItemRef::Reference(_, reference) => reference.to_string(),
            ItemRef::WebId(_, id) => format!("number {id} of its url"),
            ItemRef::WorkbookContentUrl(url) => format!("views/{url} of its url"),
        }
    }
}

/// The items an exposure names, or why it names none (not an error: reported, not refreshed).
pub fn tableau_items(exposure: &Exposure, site: &str) -> Result<Vec<ItemRef>, String> {
    if let Some(meta) = exposure.tableau_meta() {
        return from_meta(meta);
    }
    match exposure.url.as_deref().map(str::trim) {
        None | Some("") => Err("no meta.tableau and no url".into()),
        Some(url) => from_url(url, site),
    }
}

/// `meta.tableau`: `workbook`/`workbooks`/`datasource`/`datasources`, each a string or a list.
fn from_meta(meta: &serde_json::Value) -> Result<Vec<ItemRef>, String> {
    let Some(object) = meta.as_object() else {
        return Err("meta.tableau is not a mapping with the keys workbooks and datasources".into());
    };
    let mut items = Vec::new();
    for (key, value) in object {
        let kind = match key.as_str() {
            "workbook" | "workbooks" => Kind::Workbook,
            "datasource" | "datasources" => Kind::Datasource,
            other => {
                return Err(format!(
                    "meta.tableau has an unknown key `{}`; use workbooks or datasources (or workbook, datasource)",
                    printable(other)
                ));
            }
        };
        let texts: Vec<&str> = match value {
            serde_json::Value::String(text) => vec![text.as_str()],
            serde_json::Value::Array(list) => list
                .iter()
                .map(|v| {
                    v.as_str()
                        .ok_or_else(|| format!("meta.tableau.{key} holds a non-string"))
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(format!("meta.tableau.{key} is not a string or a list")),
        };
        for text in texts {
            let reference = Reference::parse(text)
                .map_err(|err| format!("meta.tableau.{key}: {}", printable(&err)))?;
            let item = ItemRef::Reference(kind, reference);
            if !items.contains(&item) {
                items.push(item);
            }
        }
    }
    if items.is_empty() {
        return Err("meta.tableau names no workbook or data source".into());
    }
    Ok(items)
}

/// A Tableau address: `…/#/site/SITE/workbooks/N…`, `…/#/site/SITE/datasources/N…`,
/// `…/#/site/SITE/views/WORKBOOK/SHEET` (`/#/workbooks/N` etc. on the default site), or the
/// path forms `/t/SITE/views/WORKBOOK/SHEET` and `/views/WORKBOOK/SHEET` of shared links.
fn from_url(text: &str, site: &str) -> Result<Vec<ItemRef>, String> {
    let not_tableau = || {
        format!(
            "its url is not a Tableau workbook, data source or view address ({})",
            printable(text)
        )
    };
    let url = Url::parse(text).map_err(|_| not_tableau())?;
    let route = match url.fragment() {
        Some(fragment) if fragment.starts_with('/') => fragment.to_string(),
        _ => url.path().replacen("/t/", "/site/", 1),
    };
    let route = route.split(['?', '&']).next().unwrap_or_default();
    let mut parts: Vec<&str> = route.split('/').filter(|p| !p.is_empty()).collect();
    let url_site = if parts.first() == Some(&"site") && parts.len() >= 2 {
        let name = parts[1];
        parts.drain(..2);
        name.to_string()
    } else {
        String::new()
    };
    let item = match parts.as_slice() {
        ["workbooks", id, ..] if is_number(id) => ItemRef::WebId(Kind::Workbook, id.to_string()),
        ["datasources", id, ..] if is_number(id) => {
            ItemRef::WebId(Kind::Datasource, id.to_string())
        }
        ["views", workbook, _sheet, ..] if !workbook.is_empty() => {
            ItemRef::WorkbookContentUrl(workbook.to_string())
        }
        _ => return Err(not_tableau()),
    };
    if !url_site.eq_ignore_ascii_case(site) {
        let named = |s: &str| {
            if s.is_empty() {
                "the default site".to_string()
            } else {
                format!("site `{}`", printable(s))
            }
        };
        return Err(format!(
            "its url points at {}, not the configured {}",
            named(&url_site),
            named(site)
        ));
    }
    Ok(vec![item])
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_digit())
}

/// Text from a manifest shown in messages: control characters dropped, length capped.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// The number at the end of a `webpageUrl` (`…/#/site/acme/workbooks/1234` → `1234`).
pub fn web_id(webpage_url: &str) -> Option<&str> {
    let last = webpage_url.trim_end_matches('/').rsplit('/').next()?;
    is_number(last).then_some(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exposure(url: Option<&str>, meta: Option<serde_json::Value>) -> Exposure {
        let mut exposure = Exposure {
            name: "x".into(),
            url: url.map(str::to_string),
            ..Exposure::default()
        };
        exposure.meta.tableau = meta;
        exposure
    }

    #[test]
    fn meta_tableau_wins_and_takes_strings_or_lists() {
        let meta = serde_json::json!({"workbook": "Finance/Orders", "datasources": ["Orders", "6d13b0ca-1f2e-4a5b-9c8d-0123456789ab"]});
        let items = tableau_items(
            &exposure(Some("https://x/#/site/acme/workbooks/1"), Some(meta)),
            "acme",
        )
        .expect("items");
        assert_eq!(items.len(), 3);
        assert!(items.contains(&ItemRef::Reference(
            Kind::Workbook,
            Reference::parse("Finance/Orders").expect("ref")
        )));
        assert!(items.contains(&ItemRef::Reference(
            Kind::Datasource,
            Reference::Luid("6d13b0ca-1f2e-4a5b-9c8d-0123456789ab".into())
        )));
        let bad = serde_json::json!({"dashboard": "X"});
        assert!(tableau_items(&exposure(None, Some(bad)), "acme").is_err());
        let bad = serde_json::json!({"workbook": "A//B"});
        assert!(tableau_items(&exposure(None, Some(bad)), "acme").is_err());
    }

    #[test]
    fn url_forms_on_the_configured_site_whatever_the_host() {
        let site = "acme";
        let cases = [
            (
                "https://prod-useast-b.online.tableau.com/#/site/acme/workbooks/1234/views",
                ItemRef::WebId(Kind::Workbook, "1234".into()),
            ),
            (
                "https://10ax.online.tableau.com/#/site/ACME/datasources/77?:origin=card",
                ItemRef::WebId(Kind::Datasource, "77".into()),
            ),
            (
                "https://tableau.example.com/#/site/acme/views/OrdersOverview/Sheet1?:iid=1",
                ItemRef::WorkbookContentUrl("OrdersOverview".into()),
            ),
            (
                "https://tableau.example.com/t/acme/views/OrdersOverview/Sheet1",
                ItemRef::WorkbookContentUrl("OrdersOverview".into()),
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(
                tableau_items(&exposure(Some(url), None), site),
                Ok(vec![expected]),
                "{url}"
            );
        }
        assert_eq!(
            tableau_items(
                &exposure(Some("https://t.example.com/#/workbooks/5"), None),
                ""
            ),
            Ok(vec![ItemRef::WebId(Kind::Workbook, "5".into())])
        );
    }

    #[test]
    fn other_sites_and_other_tools_name_no_item() {
        let other = tableau_items(
            &exposure(
                Some("https://x.online.tableau.com/#/site/other/workbooks/1"),
                None,
            ),
            "acme",
        )
        .expect_err("other site");
        assert!(other.contains("site `other`"), "{other}");
        for url in [
            "https://looker.example.com/dashboards/12",
            "not a url",
            "https://x/#/site/acme/projects/3",
        ] {
            assert!(
                tableau_items(&exposure(Some(url), None), "acme").is_err(),
                "{url}"
            );
        }
        assert!(tableau_items(&exposure(None, None), "acme").is_err());
    }

    proptest::proptest! {
        /// A manifest's url and meta are untrusted text: any of them gives items or a reason,
        /// never a panic.
        #[test]
        fn any_url_or_meta_gives_items_or_a_reason(
            url in proptest::prop_oneof![
                proptest::prelude::any::<String>(),
                "https://[a-z.]{1,12}/(t/[a-z]{0,4}/|#/(site/[a-zA-Z]{0,4}/)?)?(views|workbooks|datasources)?/[^ ]{0,20}",
            ],
            site in "[a-zA-Z0-9]{0,6}",
            meta in proptest::prelude::any::<String>(),
        ) {
            let _ = tableau_items(&exposure(Some(&url), None), &site);
            let _ = tableau_items(
                &exposure(None, Some(serde_json::json!({"workbook": meta.clone(), "datasources": [meta]}))),
                &site,
            );
            let _ = web_id(&url);
        }
    }

    #[test]
    fn web_ids_come_from_the_end_of_webpage_urls() {
        assert_eq!(web_id("https://x/#/site/acme/workbooks/1234"), Some("1234"));
        assert_eq!(web_id("https://x/#/datasources/9/"), Some("9"));
        assert_eq!(web_id("https://x/#/site/acme/workbooks/abc"), None);
    }
}
