//! Where Tableau credentials may go: plain `http://` only to a loopback host (or with the
//! documented opt-in), and which redirects of `serverinfo` and sign-in are followed. Both are
//! decided from the URL as written, never from DNS, and before anything is sent to the address.

use reqwest::Url;
use url::Host;

use super::error::TableauError;

/// The environment variable that allows `http://` to a Tableau that is not on this machine.
pub const ALLOW_INSECURE_HTTP_ENV: &str = "TABLEAU_ALLOW_INSECURE_HTTP";

/// Most redirects followed for one call (`serverinfo` or sign-in).
pub const MAX_REDIRECTS: usize = 3;

/// Tableau Cloud's front door; it redirects to the site's pod, a subdomain of itself.
const TABLEAU_CLOUD: &str = "online.tableau.com";

/// Whether the URL names this machine as written: `localhost`, an address in 127.0.0.0/8, or
/// `[::1]`. No name is looked up: `tableau.local` pointing at 127.0.0.1 does not count.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Refuses `http://` to a host that is not loopback, unless `allow_insecure_http`: the personal
/// access token would cross the network in clear text.
pub fn check_scheme(url: &Url, allow_insecure_http: bool) -> Result<(), String> {
    if url.scheme() != "http" || allow_insecure_http || is_loopback(url) {
        return Ok(());
    }
    Err(format!(
        "the Tableau address {} uses plain http: the personal access token would cross the network \
         unencrypted. Use https:// (Tableau Cloud and a Tableau Server with TLS), or, for a lab \
         server only, set {ALLOW_INSECURE_HTTP_ENV}=true",
        origin(url)
    ))
}

/// How messages name the Tableau address input where this runs (`input tableau-site-url` in
/// Actions, `--site-url (TABLEAU_SITE_URL)` elsewhere).
pub(crate) fn site_url() -> String {
    crate::inputs::Naming::from_env().of(&crate::inputs::SITE_URL)
}

/// Whether a status is a redirect we follow.
pub fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// The next address of a redirect from `from`, if the policy allows it:
/// - the same host (and port), or the same host from `http` to `https` (any port);
/// - Tableau Cloud: from `online.tableau.com` or a `*.online.tableau.com` pod to another
///   `*.online.tableau.com` pod, over https, on the same port (or 443).
///
/// Anything else (another host, a changed IP literal, https to http) is refused, so no
/// credential is ever sent there; the error names both hosts.
pub fn redirect_target(from: &Url, location: Option<&str>) -> Result<Url, TableauError> {
    let location = location.filter(|l| !l.trim().is_empty()).ok_or_else(|| {
        TableauError::Refused(format!(
            "{} answered a redirect without a Location; set {} to the address Tableau should be \
             reached at",
            origin(from),
            site_url()
        ))
    })?;
    let target = from.join(location.trim()).map_err(|_| {
        TableauError::Refused(format!(
            "{} redirected to an unreadable address; set {} to the address Tableau should be \
             reached at",
            origin(from),
            site_url()
        ))
    })?;
    if redirect_allowed(from, &target) {
        return Ok(target);
    }
    Err(TableauError::Refused(format!(
        "{} redirected to {}, which is {}; nothing was sent there. If {} really is your \
         Tableau, set {} to that final address (over https)",
        origin(from),
        origin(&target),
        why_refused(from, &target),
        target.host_str().unwrap_or("that host"),
        site_url(),
    )))
}

fn redirect_allowed(from: &Url, to: &Url) -> bool {
    let (Some(from_host), Some(to_host)) = (from.host(), to.host()) else {
        return false;
    };
    if !matches!(to.scheme(), "https" | "http") || !to.username().is_empty() {
        return false;
    }
    if from.scheme() == "https" && to.scheme() != "https" {
        return false;
    }
    if same_host(&from_host, &to_host) {
        // Same origin, or the upgrade to https on the same machine.
        return to.scheme() == "https"
            || to.port_or_known_default() == from.port_or_known_default();
    }
    let (Host::Domain(from_name), Host::Domain(to_name)) = (from_host, to_host) else {
        return false;
    };
    let same_port = to.port_or_known_default() == from.port_or_known_default()
        || to.port_or_known_default() == Some(443);
    to.scheme() == "https"
        && same_port
        && (from_name == TABLEAU_CLOUD || is_cloud_pod(from_name))
        && is_cloud_pod(to_name)
}

/// `*.online.tableau.com` with a non-empty first part.
fn is_cloud_pod(name: &str) -> bool {
    name.strip_suffix(TABLEAU_CLOUD)
        .and_then(|rest| rest.strip_suffix('.'))
        .is_some_and(|pod| !pod.is_empty() && !pod.starts_with('.'))
}

/// Hosts compared exactly: names case-insensitively (the URL parser already lowered them), IP
/// literals as addresses.
fn same_host(a: &Host<&str>, b: &Host<&str>) -> bool {
    match (a, b) {
        (Host::Domain(a), Host::Domain(b)) => a.eq_ignore_ascii_case(b),
        (Host::Ipv4(a), Host::Ipv4(b)) => a == b,
        (Host::Ipv6(a), Host::Ipv6(b)) => a == b,
        _ => false,
    }
}

fn why_refused(from: &Url, to: &Url) -> &'static str {
    let literal = |url: &Url| matches!(url.host(), Some(Host::Ipv4(_) | Host::Ipv6(_)));
    if from.scheme() == "https" && to.scheme() != "https" {
        "a downgrade from https to plain http"
    } else if !to.username().is_empty() || !matches!(to.scheme(), "https" | "http") {
        "not a plain web address"
    } else if literal(from) || literal(to) {
        "another IP address"
    } else if from.host_str() == to.host_str() {
        "the same host on another port over plain http"
    } else if to.host_str().is_some_and(is_cloud_pod) {
        "a Tableau Cloud pod, but not reached from Tableau Cloud over https on the same port"
    } else {
        "another host (only the same host, or Tableau Cloud's front door to its pods, is followed)"
    }
}

/// `scheme://host[:port]` for messages; never the path or a query.
pub fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("url")
    }

    fn follows(from: &str, to: &str) -> bool {
        redirect_target(&url(from), Some(to)).is_ok()
    }

    #[test]
    fn tableau_cloud_front_door_and_pods_are_followed() {
        let from = "https://online.tableau.com/api/3.6/auth/signin";
        let to = redirect_target(
            &url(from),
            Some("https://prod-useast-b.online.tableau.com/api/3.6/auth/signin"),
        )
        .expect("pod redirect");
        assert_eq!(to.host_str(), Some("prod-useast-b.online.tableau.com"));
        assert!(follows(
            from,
            "https://10ax.online.tableau.com/api/3.6/auth/signin"
        ));
        assert!(follows(
            "https://10ax.online.tableau.com/api/2.4/serverinfo",
            "https://prod-uswest-a.online.tableau.com/api/2.4/serverinfo"
        ));
        assert!(follows(
            "https://ONLINE.tableau.com/x",
            "https://Eu-West-1A.Online.Tableau.com/x"
        ));
        // Loopback simulation of the same: same port.
        assert!(follows(
            "https://online.tableau.com:4443/x",
            "https://10ax.online.tableau.com:4443/x"
        ));
    }

    #[test]
    fn the_same_host_may_move_to_https_or_stay_on_its_origin() {
        assert!(follows(
            "http://tableau.acme.com/api/2.4/serverinfo",
            "https://tableau.acme.com/api/2.4/serverinfo"
        ));
        assert!(follows(
            "http://127.0.0.1:8080/a",
            "https://127.0.0.1:8443/a"
        ));
        assert!(follows("http://[::1]:80/a", "https://[::1]/a"));
        assert!(follows("https://tableau.acme.com/a", "/b"));
        assert!(follows("http://localhost:1/a", "http://localhost:1/b"));
        assert!(!follows("http://localhost:1/a", "http://localhost:2/b"));
    }

    /// The hosts the old last-two-labels check accepted (issue 10, finding 3).
    #[test]
    fn hosts_the_old_domain_check_accepted_are_refused() {
        let refused = [
            (
                "https://tableau.acme.co.uk/api",
                "https://attacker.co.uk/api",
            ),
            ("https://tableau.acme.com.au/api", "https://evil.com.au/api"),
            (
                "https://tableau.ec2-1-2-3-4.compute.amazonaws.com/api",
                "https://attacker.amazonaws.com/api",
            ),
            (
                "https://acme-tableau.azurewebsites.net/api",
                "https://attacker.azurewebsites.net/api",
            ),
            ("https://10.1.2.3/api", "https://10.9.2.3/api"),
            ("https://192.168.1.20/api", "https://172.16.1.20/api"),
            ("https://[fd00::1]/api", "https://[fd00::2]/api"),
            (
                "https://online.tableau.com/api",
                "https://public.tableau.com/api",
            ),
            ("https://online.tableau.com/api", "https://tableau.com/api"),
            (
                "https://online.tableau.com/api",
                "https://online.tableau.com.attacker.example/api",
            ),
            (
                "https://online.tableau.com/api",
                "https://evilonline.tableau.com/api",
            ),
            (
                "https://tableau.acme.com/api",
                "https://tableau.acme.com.evil/api",
            ),
            ("https://tableau.acme.com/api", "https://evil.example/api"),
        ];
        for (from, to) in refused {
            let err = redirect_target(&url(from), Some(to)).expect_err(to);
            let text = err.to_string();
            let from_host = url(from).host_str().expect("host").to_string();
            let to_host = url(to).host_str().expect("host").to_string();
            assert!(text.contains(&from_host), "{text}");
            assert!(text.contains(&to_host), "{text}");
            assert!(text.contains(&format!("set {}", site_url())), "{text}");
        }
    }

    #[test]
    fn downgrades_other_schemes_and_plain_http_pods_are_refused() {
        assert!(!follows(
            "https://online.tableau.com/x",
            "http://online.tableau.com/x"
        ));
        assert!(!follows(
            "https://tableau.acme.com/x",
            "http://tableau.acme.com/x"
        ));
        assert!(!follows(
            "https://online.tableau.com/x",
            "http://10ax.online.tableau.com/x"
        ));
        assert!(!follows(
            "https://online.tableau.com/x",
            "https://10ax.online.tableau.com:8443/x"
        ));
        assert!(!follows(
            "https://tableau.acme.com/x",
            "ftp://tableau.acme.com/x"
        ));
        assert!(!follows(
            "https://tableau.acme.com/x",
            "https://user:pw@tableau.acme.com/x"
        ));
        // A customer's own host cannot hand the token to Tableau Cloud either.
        assert!(!follows(
            "https://tableau.acme.com/x",
            "https://10ax.online.tableau.com/x"
        ));
        let err = redirect_target(&url("https://online.tableau.com/x"), None).expect_err("none");
        assert!(err.to_string().contains("without a Location"), "{err}");
    }

    #[test]
    fn plain_http_only_to_loopback_as_written() {
        for ok in [
            "http://localhost:8000",
            "http://LOCALHOST",
            "http://127.0.0.1:1",
            "http://127.45.6.7",
            "http://[::1]:8080",
            "https://tableau.acme.com",
        ] {
            assert!(check_scheme(&url(ok), false).is_ok(), "{ok}");
        }
        for refused in [
            "http://tableau.acme.com",
            "http://10.0.0.5",
            "http://localhost.acme.com",
            "http://128.0.0.1",
            "http://[::2]",
            "http://0.0.0.0",
        ] {
            let err = check_scheme(&url(refused), false).expect_err(refused);
            assert!(err.contains("https://"), "{err}");
            assert!(err.contains(ALLOW_INSECURE_HTTP_ENV), "{err}");
            assert!(check_scheme(&url(refused), true).is_ok());
        }
    }

    #[test]
    fn redirect_statuses() {
        for status in [301, 302, 303, 307, 308] {
            assert!(is_redirect(status));
        }
        for status in [200, 300, 304, 305, 400] {
            assert!(!is_redirect(status));
        }
    }
}
