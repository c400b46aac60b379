//! `up`'s first phase: `doctor`'s checks, before anything is written. A failure stops the
//! run (exit 6); warnings are reported and the run goes on.

use super::{Install, RunError};
use crate::doctor::{self, Status};
use crate::inventory::Inventory;
use crate::report::Event;

pub(super) async fn run(run: &Install<'_>, inventory: Option<&Inventory>) -> Result<(), RunError> {
    let subject = doctor::Subject {
        cluster: run.cluster,
        stack: run.stack,
        rendered: run.rendered,
        inventory,
        flags: run.opts.flags,
        // Preparing the stack already refused charts that do not fit the cluster.
        unfit_charts: &[],
    };
    let report = doctor::examine(&subject, &run.opts.skip_checks).await?;
    let mut failures = Vec::new();
    for mut finding in report.findings {
        // Objects someone else owns are the preflight's to refuse, object by object, as
        // conflicts (exit 4): here they are only reported.
        if finding.check == "existing-installs" && finding.status == Status::Fail {
            finding.status = Status::Warn;
        }
        if finding.status == Status::Pass {
            continue;
        }
        run.sink.emit(&Event::Check {
            check: finding.check.to_string(),
            status: finding.status,
            saw: finding.saw.clone(),
            fix: finding.fix.clone(),
        });
        if finding.status == Status::Fail {
            failures.push(finding);
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(RunError::Unfit(failures))
    }
}
