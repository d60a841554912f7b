//! `lakewarden check`: everything a run needs, verified before any data moves.

use crate::config::Config;
use crate::run::{caller_account, sdk_config};

/// One verified item.
#[derive(Debug)]
pub struct CheckLine {
    pub what: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// Check the schemas, the lake's write access and the credentials. The config was
/// already parsed (and rejected if invalid) by the caller.
pub async fn check(config: &Config) -> Vec<CheckLine> {
    let mut lines = vec![CheckLine {
        what: "config",
        ok: true,
        detail: format!(
            "lake {}, sources {}",
            config.lake.url,
            enabled_sources(config)
        ),
    }];

    match lakewarden_lake::Catalog::load() {
        Ok(catalog) => lines.push(CheckLine {
            what: "schemas",
            ok: true,
            detail: format!("{} tables declared", catalog.tables().count()),
        }),
        Err(error) => lines.push(CheckLine {
            what: "schemas",
            ok: false,
            detail: error.to_string(),
        }),
    }

    let lake = lakewarden_lake::open_lake(&config.lake.url);
    let probe = match &lake {
        Ok(lake) => lake.probe_write().await.map_err(|e| e.to_string()),
        Err(error) => Err(error.to_string()),
    };
    lines.push(CheckLine {
        what: "lake",
        ok: probe.is_ok(),
        detail: match probe {
            Ok(()) => format!("{} is writable", config.lake.url),
            Err(error) => error,
        },
    });

    let sdk = sdk_config(config).await;
    let account = caller_account(&sdk).await;
    lines.push(CheckLine {
        what: "credentials",
        ok: account.is_ok(),
        detail: match account {
            Ok(account) => format!("account {account}"),
            Err(error) => format!("{error:#}"),
        },
    });
    if lines.last().is_some_and(|l| l.ok) && config.sources.iam.enabled {
        let iam = aws_sdk_iam::Client::new(&sdk)
            .get_account_summary()
            .send()
            .await;
        lines.push(CheckLine {
            what: "iam",
            ok: iam.is_ok(),
            detail: match iam {
                Ok(_) => "GetAccountSummary allowed".to_owned(),
                Err(e) => aws_smithy_types::error::display::DisplayErrorContext(e).to_string(),
            },
        });
    }
    lines
}

fn enabled_sources(config: &Config) -> String {
    let names: Vec<&str> = crate::run::sources(config)
        .iter()
        .map(|s| s.name())
        .collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}
