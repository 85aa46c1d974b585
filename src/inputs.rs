//! How a message names one of `refresh`'s inputs: the action input inside GitHub Actions (what
//! the workflow's `with:` sets), the flag and environment variable elsewhere (what a laptop or
//! another CI system sets). One table of names, so every message says the same.

/// One input of `refresh`, under each of its names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Input<'a> {
    /// The long flag; `None` for what is read from the environment only (secrets).
    pub flag: Option<&'a str>,
    /// The environment variable; `None` for a flag with no variable (`--payload-file`).
    pub env: Option<&'a str>,
    /// The input of action.yml; `None` where the action has none.
    pub action: Option<&'a str>,
}

const fn input<'a>(
    flag: Option<&'a str>,
    env: Option<&'a str>,
    action: Option<&'a str>,
) -> Input<'a> {
    Input { flag, env, action }
}

pub const PAYLOAD: Input<'static> = input(
    Some("--payload"),
    Some("DBT_WEBHOOK_PAYLOAD"),
    Some("payload"),
);
pub const PAYLOAD_FILE: Input<'static> = input(Some("--payload-file"), None, None);
pub const WEBHOOK_KEY: Input<'static> =
    input(None, Some("DBT_WEBHOOK_KEY"), Some("dbt-webhook-key"));
pub const MAX_EVENT_AGE: Input<'static> = input(
    Some("--max-event-age"),
    Some("DBT_MAX_EVENT_AGE"),
    Some("max-event-age"),
);
pub const JOB_IDS: Input<'static> = input(
    Some("--dbt-job-id"),
    Some("DBT_JOB_IDS"),
    Some("dbt-job-ids"),
);
pub const NO_EVENT: Input<'static> = input(Some("--no-event"), Some("DBT_NO_EVENT"), None);
pub const SITE_URL: Input<'static> = input(
    Some("--site-url"),
    Some("TABLEAU_SITE_URL"),
    Some("tableau-site-url"),
);
pub const SITE_NAME: Input<'static> = input(
    Some("--site-name"),
    Some("TABLEAU_SITE_NAME"),
    Some("tableau-site-name"),
);
pub const WAIT: Input<'static> = input(Some("--wait"), Some("TABLEAU_WAIT"), Some("wait"));
pub const CANCEL_ON_TIMEOUT: Input<'static> = input(
    Some("--cancel-on-timeout"),
    Some("TABLEAU_CANCEL_ON_TIMEOUT"),
    Some("cancel-on-timeout"),
);
pub const API_VERSION: Input<'static> = input(
    Some("--api-version"),
    Some("TABLEAU_API_VERSION"),
    Some("api-version"),
);
pub const CA_CERT: Input<'static> = input(
    Some("--ca-cert"),
    Some("TABLEAU_CA_CERT"),
    Some("tableau-ca-cert"),
);
pub const WORKBOOKS: Input<'static> = input(
    Some("--workbook"),
    Some("TABLEAU_WORKBOOKS"),
    Some("workbooks"),
);
pub const DATASOURCES: Input<'static> = input(
    Some("--datasource"),
    Some("TABLEAU_DATASOURCES"),
    Some("datasources"),
);
pub const SELECT: Input<'static> = input(Some("--select"), Some("TABLEAU_SELECT"), Some("select"));
pub const ARTIFACTS_DIR: Input<'static> = input(
    Some("--dbt-artifacts-dir"),
    Some("DBT_ARTIFACTS_DIR"),
    Some("dbt-artifacts-dir"),
);
pub const DBT_CLOUD_API_TOKEN: Input<'static> = input(
    None,
    Some("DBT_CLOUD_API_TOKEN"),
    Some("dbt-cloud-api-token"),
);
pub const DBT_CLOUD_URL: Input<'static> = input(None, Some("DBT_CLOUD_URL"), Some("dbt-cloud-url"));

/// Environment variables whose action input is named differently, beyond the constants above:
/// the credentials (listed by the credential check) and the run's switches (named by the
/// command-line parser's errors).
const OTHERS: [(&str, &str); 10] = [
    ("DBT_WEBHOOK_SIGNATURE", "signature"),
    ("TABLEAU_API_TOKEN_NAME", "tableau-api-token-name"),
    ("TABLEAU_API_TOKEN_SECRET", "tableau-api-token-secret"),
    (
        "TABLEAU_CONNECTED_APP_CLIENT_ID",
        "tableau-connected-app-client-id",
    ),
    (
        "TABLEAU_CONNECTED_APP_SECRET_ID",
        "tableau-connected-app-secret-id",
    ),
    (
        "TABLEAU_CONNECTED_APP_SECRET_VALUE",
        "tableau-connected-app-secret-value",
    ),
    ("TABLEAU_USERNAME", "tableau-username"),
    ("TABLEAU_TIMEOUT", "timeout"),
    ("TABLEAU_INCREMENTAL", "incremental"),
    ("TABLEAU_DRY_RUN", "dry-run"),
];

/// The action input that sets environment variable `env`, if the action has one.
pub fn action_input_of(env: &str) -> Option<&'static str> {
    const NAMED: [Input<'static>; 16] = [
        PAYLOAD,
        SITE_NAME,
        WAIT,
        CANCEL_ON_TIMEOUT,
        WEBHOOK_KEY,
        MAX_EVENT_AGE,
        JOB_IDS,
        SITE_URL,
        API_VERSION,
        CA_CERT,
        WORKBOOKS,
        DATASOURCES,
        SELECT,
        ARTIFACTS_DIR,
        DBT_CLOUD_API_TOKEN,
        DBT_CLOUD_URL,
    ];
    NAMED
        .iter()
        .find(|input| input.env == Some(env))
        .and_then(|input| input.action)
        .or_else(|| {
            OTHERS
                .iter()
                .find(|(name, _)| *name == env)
                .map(|(_, action)| *action)
        })
}

/// An input read from the environment only (a secret): the variable, and its action input.
pub fn env_only(env: &str) -> Input<'_> {
    input(None, Some(env), action_input_of(env))
}

/// Which names messages use: the action's inputs inside GitHub Actions, flags and variables
/// elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Naming {
    actions: bool,
}

impl Naming {
    /// Inside Actions when `GITHUB_ACTIONS=true`.
    pub fn from_env() -> Self {
        Self {
            actions: crate::actions::in_actions(),
        }
    }

    /// Names for a workflow step using the action.
    pub fn actions() -> Self {
        Self { actions: true }
    }

    /// Names for a terminal or another CI system.
    pub fn command_line() -> Self {
        Self { actions: false }
    }

    /// How to name `input`: `input tableau-site-url` in Actions; `--site-url (TABLEAU_SITE_URL)`,
    /// the variable alone for a secret, or the flag alone elsewhere. An input the action lacks
    /// is named as on the command line everywhere.
    pub fn of(self, input: &Input<'_>) -> String {
        match (self.actions, input.action) {
            (true, Some(action)) => format!("input {action}"),
            _ => Self::command_line_name(input),
        }
    }

    /// Several inputs joined with `conjunction` (`and`, `or`): `inputs workbooks or
    /// datasources` in Actions, `--workbook (TABLEAU_WORKBOOKS) or --datasource
    /// (TABLEAU_DATASOURCES)` elsewhere.
    pub fn list(self, inputs: &[Input<'_>], conjunction: &str) -> String {
        let actions: Option<Vec<&str>> = inputs.iter().map(|input| input.action).collect();
        match actions {
            Some(names) if self.actions && names.len() > 1 => {
                format!("inputs {}", join(&names, conjunction))
            }
            _ => {
                let names: Vec<String> = inputs.iter().map(|input| self.of(input)).collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                join(&names, conjunction)
            }
        }
    }

    fn command_line_name(input: &Input<'_>) -> String {
        match (input.flag, input.env) {
            (Some(flag), Some(env)) => format!("{flag} ({env})"),
            (Some(flag), None) => flag.to_string(),
            (None, Some(env)) => env.to_string(),
            (None, None) => String::new(),
        }
    }
}

/// `a`, `a or b`, `a, b or c`.
fn join(names: &[&str], conjunction: &str) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [head @ .., last] => format!("{} {conjunction} {last}", head.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_name_inputs_and_a_command_line_names_flags_and_variables() {
        let (actions, laptop) = (Naming::actions(), Naming::command_line());
        assert_eq!(actions.of(&SITE_URL), "input tableau-site-url");
        assert_eq!(laptop.of(&SITE_URL), "--site-url (TABLEAU_SITE_URL)");
        assert_eq!(actions.of(&WEBHOOK_KEY), "input dbt-webhook-key");
        assert_eq!(laptop.of(&WEBHOOK_KEY), "DBT_WEBHOOK_KEY");
        // No action input: the same name in both places.
        assert_eq!(actions.of(&NO_EVENT), "--no-event (DBT_NO_EVENT)");
        assert_eq!(laptop.of(&PAYLOAD_FILE), "--payload-file");
        assert_eq!(
            actions.list(&[WORKBOOKS, DATASOURCES], "or"),
            "inputs workbooks or datasources"
        );
        assert_eq!(
            laptop.list(&[WORKBOOKS, DATASOURCES], "or"),
            "--workbook (TABLEAU_WORKBOOKS) or --datasource (TABLEAU_DATASOURCES)"
        );
        assert_eq!(
            laptop.list(&[PAYLOAD, PAYLOAD_FILE, NO_EVENT], "or"),
            "--payload (DBT_WEBHOOK_PAYLOAD), --payload-file or --no-event (DBT_NO_EVENT)"
        );
        assert_eq!(actions.list(&[SELECT], "and"), "input select");
    }

    #[test]
    fn every_variable_of_action_yml_maps_to_its_input() {
        let action = include_str!("../action.yml");
        let mut seen = 0;
        for line in action.lines() {
            // `        TABLEAU_SITE_URL: ${{ inputs.tableau-site-url }}`
            let Some((env, rest)) = line.trim().split_once(": ${{ inputs.") else {
                continue;
            };
            let input = rest.trim_end_matches(" }}");
            assert_eq!(action_input_of(env), Some(input), "{env}");
            seen += 1;
        }
        assert!(seen >= 20, "read the action's env mapping: {seen}");
        assert_eq!(
            env_only("TABLEAU_USERNAME").action,
            Some("tableau-username")
        );
    }
}
