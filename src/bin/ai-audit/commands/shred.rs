//! `ai-audit shred`: crypto-shred a tenant or one data subject (SPEC §4.5).

use std::io::{BufRead, IsTerminal as _};
use std::sync::Arc;

use ai_audit::cli::{self, CliError, ListFilter, OpenMode};
use ai_audit::{
    AuditLog, Body, Code, EntryKind, ExternalId, KeySlot, Seq, ShredError, ShredScope, SlotState,
    SubjectRef, TenantId,
};
use clap::Args;
use serde::Serialize;

use crate::output::{print, print_json};
use crate::{Ctx, Outcome};

use super::{count, key_store, open, signing_key, tenant_id};

/// Flags of `ai-audit shred`.
#[derive(Args)]
pub struct ShredArgs {
    /// The tenant (alone: shred the whole tenant).
    #[arg(long)]
    tenant: String,
    /// Only this data subject of the tenant (the application's subject id,
    /// e.g. a customer number; it is not stored or printed).
    #[arg(long, value_name = "ID")]
    subject: Option<String>,
    /// Pseudonymous id of who shreds (recorded in the tombstone).
    #[arg(long)]
    actor: String,
    /// Reason code (recorded in the tombstone), e.g. gdpr_art17.
    #[arg(long)]
    reason: String,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long)]
    yes: bool,
}

#[derive(Serialize)]
struct ShredJson<'a> {
    tenant: &'a TenantId,
    scope: ShredScope,
    subject: Option<String>,
    tombstone_seq: Seq,
    entries: usize,
    sealed_fields: usize,
}

/// Entries of `tenant` holding sealed fields of the scope, and the fields.
fn sealed_counts(
    opened: &ai_audit::cli::OpenStore,
    tenant: &TenantId,
    subject: Option<&SubjectRef>,
) -> Result<(usize, usize), CliError> {
    let filter = ListFilter {
        tenant: Some(tenant.clone()),
        kind: Some(EntryKind::Decision),
        ..ListFilter::default()
    };
    let (mut entries, mut fields) = (0, 0);
    for e in cli::list_in(opened, &filter)? {
        if let Ok(Body::Decision(d)) = e.body() {
            let n = d
                .sealed
                .iter()
                .filter(|s| subject.is_none() || s.subject.as_ref() == subject)
                .count();
            entries += usize::from(n > 0);
            fields += n;
        }
    }
    Ok((entries, fields))
}

/// What the confirmation names: whose keys, how many sealed fields in how
/// many entries become unreadable, for a tenant its commitments, and that
/// it is irreversible.
fn warning(
    tenant: &TenantId,
    subject: Option<&SubjectRef>,
    entries: usize,
    fields: usize,
) -> String {
    let whose = match subject {
        Some(r) => format!("data subject {} of tenant {tenant}", r.to_hex()),
        None => format!("tenant {tenant} (its keys and every data subject's)"),
    };
    let mut what = format!(
        "This destroys the keys of {whose}. Irreversibly:\n  - {} in {} become unreadable for everyone;\n",
        count(fields, "sealed field", "sealed fields"),
        count(entries, "entry", "entries"),
    );
    if subject.is_none() {
        what.push_str(
            "  - the tenant's commitments (input, output and argument digests) can no longer be confirmed;\n",
        );
    }
    what.push_str(
        "  - hashes, signatures, proofs and packages still verify; a signed shred tombstone is appended.\n",
    );
    what
}

/// Asks on the terminal; `Ok` only for the answer `yes`.
fn confirm(what: &str) -> Result<(), CliError> {
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal() && std::io::stderr().is_terminal();
    confirm_with(what, interactive, &mut stdin.lock(), &mut std::io::stderr())
}

/// [`confirm`] over any reader and writer (`interactive`: both are a terminal).
fn confirm_with(
    what: &str,
    interactive: bool,
    input: &mut dyn BufRead,
    prompt: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    if !interactive {
        return Err(CliError::NotConfirmed(
            "no terminal to ask on and no --yes".into(),
        ));
    }
    let _ = write!(prompt, "{what}Type yes to shred: ");
    let _ = prompt.flush();
    let mut answer = String::new();
    input
        .read_line(&mut answer)
        .map_err(|e| CliError::NotConfirmed(format!("cannot read the answer: {e}")))?;
    if answer.trim() != "yes" {
        return Err(CliError::NotConfirmed("the answer was not yes".into()));
    }
    Ok(())
}

/// `ai-audit shred`.
pub fn shred(a: &ShredArgs, ctx: &Ctx) -> Result<Outcome, CliError> {
    let tenant = tenant_id(&a.tenant)?;
    let actor = ExternalId::new(&a.actor)
        .map_err(|e| CliError::Invalid(format!("actor {:?}: {e}", a.actor)))?;
    let reason = Code::new(&a.reason)
        .map_err(|e| CliError::Invalid(format!("reason {:?}: {e}", a.reason)))?;
    let signer = Arc::new(signing_key(ctx)?);
    let (_, opened) = open(ctx, OpenMode::Existing)?;
    let store = opened.store();
    let vkey = ai_audit::Signer::verifier_key(signer.as_ref()).clone();
    cli::check_signer(store.as_ref(), &tenant, &vkey)?;
    let keys = key_store(ctx, &opened)?;
    // Refuse before asking: a shredded tenant or subject (shredding is done
    // once), and a KEK that does not open the stored keys.
    let tenant_slot = KeySlot::Tenant(tenant.clone());
    let tenant_state = keys.vault().load(&tenant_slot)?;
    // A shred whose tombstone was never appended (`Shredded(None)`: a crash
    // between erasing and appending) goes on: running it again appends it.
    if let SlotState::Shredded(Some(seq)) = tenant_state {
        return Err(ShredError::Shredded {
            slot: tenant_slot,
            seq: Some(seq),
        }
        .into());
    }
    let has_keys = matches!(tenant_state, SlotState::Live(_));
    if has_keys {
        keys.commitment_key_of(&tenant)?;
    }
    let subject = match &a.subject {
        Some(id) => {
            let r = keys.subject_ref(&tenant, id)?;
            let slot = KeySlot::Subject(tenant.clone(), r);
            if let SlotState::Shredded(Some(seq)) = keys.vault().load(&slot)? {
                return Err(ShredError::Shredded {
                    slot,
                    seq: Some(seq),
                }
                .into());
            }
            Some(r)
        }
        None => None,
    };
    let (entries, fields) = sealed_counts(&opened, &tenant, subject.as_ref())?;
    if !a.yes {
        confirm(&warning(&tenant, subject.as_ref(), entries, fields))?;
    }
    let log = AuditLog::builder(cli::log_name(store.as_ref())?, signer, store).build();
    let tomb = match &subject {
        Some(r) => keys.destroy_subject_key_by_ref(&log, &tenant, r, &actor, &reason)?,
        None => keys.destroy_tenant_key(&log, &tenant, &actor, &reason)?,
    };
    if ctx.json {
        print_json(&ShredJson {
            tenant: &tenant,
            scope: if subject.is_some() {
                ShredScope::Subject
            } else {
                ShredScope::Tenant
            },
            subject: subject.map(|r| r.to_hex()),
            tombstone_seq: tomb.seq(),
            entries,
            sealed_fields: fields,
        })?;
    } else {
        let whose = match &subject {
            Some(r) => format!("data subject {} of tenant {tenant}", r.to_hex()),
            None => format!("tenant {tenant}"),
        };
        print(&format!(
            "shredded {whose}: shred tombstone at seq {}; {} in {} can no longer be opened\n",
            tomb.seq(),
            count(fields, "sealed field", "sealed fields"),
            count(entries, "entry", "entries"),
        ));
    }
    Ok(Outcome::Ok)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ask(interactive: bool, answer: &str) -> (Result<(), CliError>, String) {
        let mut prompt = Vec::new();
        let r = confirm_with(
            "This destroys …\n",
            interactive,
            &mut answer.as_bytes(),
            &mut prompt,
        );
        (r, String::from_utf8(prompt).unwrap())
    }

    #[test]
    fn only_yes_on_a_terminal_confirms() {
        let (r, prompt) = ask(true, "yes\n");
        assert!(r.is_ok());
        assert_eq!(prompt, "This destroys …\nType yes to shred: ");
        for answer in ["no\n", "y\n", "YES please\n", ""] {
            let (r, _) = ask(true, answer);
            assert!(matches!(r, Err(CliError::NotConfirmed(_))), "{answer:?}");
        }
        let (r, prompt) = ask(false, "yes\n");
        assert!(matches!(r, Err(CliError::NotConfirmed(_))));
        assert!(prompt.is_empty(), "nothing is asked without a terminal");
    }

    #[test]
    fn the_warning_names_what_becomes_unreadable() {
        let t = TenantId::new("acme").unwrap();
        let w = warning(&t, None, 3, 5);
        assert!(w.contains("tenant acme") && w.contains("5 sealed fields in 3 entries"));
        assert!(w.contains("commitments") && w.contains("Irreversibly"));
        let r = SubjectRef([0xab; 16]);
        let w = warning(&t, Some(&r), 1, 1);
        assert!(w.contains(&r.to_hex()) && w.contains("1 sealed field in 1 entry"));
        assert!(
            !w.contains("commitments"),
            "a subject shred leaves commitments confirmable"
        );
    }
}
