//! A simulation-only knob: host names that the `refresh` run connects to on a loopback address
//! instead of asking DNS, so the `demo` can play Tableau Cloud (`online.tableau.com` and a pod)
//! with the simulator on 127.0.0.1 while `refresh` runs as a child process.
//!
//! It is deliberately not a flag and not in `--help`: it exists for the simulator alone. It
//! cannot weaken TLS: the name stays the one the certificate must match and the trust roots are
//! unchanged (the OS store plus `TABLEAU_CA_CERT`), so it only changes which address is dialled;
//! and only loopback addresses are accepted, so it cannot send traffic anywhere off this machine.

use std::net::{IpAddr, SocketAddr};

/// `NAME=IP` pairs separated by commas or newlines, e.g.
/// `online.tableau.com=127.0.0.1,10ax.online.tableau.com=127.0.0.1`.
pub const SIMULATION_RESOLVE_ENV: &str = "DBT_TABLEAU_REFRESH_SIMULATION_RESOLVE";

/// The pairs from the environment; empty when unset. The port is the URL's (reqwest's rule).
pub fn from_env() -> Result<Vec<(String, SocketAddr)>, String> {
    match std::env::var(SIMULATION_RESOLVE_ENV) {
        Ok(text) => parse(&text),
        Err(_) => Ok(Vec::new()),
    }
}

/// Parses the knob's value; any address that is not loopback is refused.
pub fn parse(text: &str) -> Result<Vec<(String, SocketAddr)>, String> {
    let mut pairs = Vec::new();
    for item in text
        .split([',', '\n'])
        .map(str::trim)
        .filter(|i| !i.is_empty())
    {
        let bad = || {
            format!("{SIMULATION_RESOLVE_ENV} (simulation only): `{item}` is not NAME=LOOPBACK-IP")
        };
        let (name, ip) = item.split_once('=').ok_or_else(bad)?;
        let name = name.trim().to_ascii_lowercase();
        let ip: IpAddr = ip.trim().parse().map_err(|_| bad())?;
        let valid_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !valid_name || !ip.is_loopback() {
            return Err(bad());
        }
        pairs.push((name, SocketAddr::new(ip, 0)));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_addresses_are_accepted() {
        let pairs =
            parse("online.tableau.com=127.0.0.1,\n 10AX.online.tableau.com = ::1 ").expect("ok");
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[1].0, "10ax.online.tableau.com");
        assert!(parse("").expect("empty").is_empty());
        for bad in [
            "online.tableau.com=10.0.0.1",
            "online.tableau.com=203.0.113.9",
            "online.tableau.com",
            "=127.0.0.1",
            "a b=127.0.0.1",
            "x=localhost",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
