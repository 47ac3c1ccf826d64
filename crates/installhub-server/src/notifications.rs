//! Notifications (SPEC §8): storing them for their recipient, and the
//! mailer that sends their e-mails from the store's durable outbox.
//!
//! A notification and its e-mail are written together ([`notify`], or
//! `InstallTx::notify` inside an install's transaction, followed by
//! [`AppState::wake_mailer`] after the commit). Sending happens later, in
//! [`run_mailer`], started by `installhub serve` when `--smtp-url` is set:
//! so a mail server that is down or slow never fails or delays what caused
//! the notification. The mailer wakes when woken and every
//! `poll_every` (5 s), claims due e-mails under a lease (replicas sharing a
//! database never send the same one; a mailer that dies mid-send leaves
//! its e-mails to another once the lease runs out), sends each with
//! `lettre`, and marks it sent, or failed with an exponential backoff (5 s
//! doubling to 1 h). An e-mail still unsent 24 h after it was queued, or
//! refused permanently (an SMTP 5xx), is given up: kept in the outbox as a
//! dead letter with its last error.
//!
//! Metrics: `installhub_emails_sent_total`,
//! `installhub_email_failures_total` (label `outcome`: `retry` or
//! `gave_up`) and the gauge `installhub_emails_pending`.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use installhub_store::{NewNotification, OutboxEmail, Store};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{NotificationsConfig, SmtpUrl};
use crate::state::AppState;

/// Stores the notification (and its e-mail, when `n.email` is set) and
/// wakes the mailer. Returns the notification's id.
pub async fn notify(state: &AppState, n: NewNotification) -> installhub_store::Result<String> {
    let id = state.store().notify(&n).await?;
    if n.email.is_some() {
        state.wake_mailer();
    }
    Ok(id)
}

/// An absolute link for notifications and e-mails: the public URL
/// (`--public-url`, else `http://<listen address>`) and `path`
/// (which starts with `/`).
pub fn link(state: &AppState, path: &str) -> String {
    format!("{}{path}", state.config().public_url())
}

/// How many e-mails one round claims; the lease covers sending them all
/// at the SMTP timeout each, with room to spare.
const BATCH: i64 = 10;
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);
const LEASE: Duration = Duration::from_secs(5 * 60);

/// Sends notification e-mails through one SMTP server.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    config: NotificationsConfig,
    /// This process's lease owner name: the store's instance id and a
    /// random suffix, so a restarted process with the same instance id
    /// cannot report on its predecessor's claims.
    owner: String,
}

/// Checks `--smtp-url` and `--smtp-from` (when an SMTP URL is set), so a
/// mistake stops the server at start-up with a message that never shows
/// the password.
pub fn check_config(config: &NotificationsConfig) -> anyhow::Result<()> {
    if let Some(smtp) = &config.smtp {
        transport(smtp)?;
        from_mailbox(config)?;
    }
    Ok(())
}

fn transport(smtp: &SmtpUrl) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    SmtpUrl::parse(smtp.expose()).map_err(|e| anyhow::anyhow!("--smtp-url: {e}"))?;
    // lettre's error may quote the URL: only ours, redacted, is shown.
    let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp.expose()).map_err(|_| {
        anyhow::anyhow!(
            "--smtp-url {smtp} is not a usable SMTP URL: use smtp://host:port (with ?tls=required for STARTTLS) or smtps://host:port, with an optional user:password@"
        )
    })?;
    Ok(builder.timeout(Some(SMTP_TIMEOUT)).build())
}

fn from_mailbox(config: &NotificationsConfig) -> anyhow::Result<Mailbox> {
    config.from.parse::<Mailbox>().with_context(|| {
        format!(
            "--smtp-from '{}' is not an e-mail address: use 'Name <user@host>' or 'user@host'",
            config.from
        )
    })
}

impl Mailer {
    /// Reads `--smtp-url` and `--smtp-from`; connects only when sending.
    pub fn new(
        smtp: &SmtpUrl,
        config: &NotificationsConfig,
        store: &Store,
    ) -> anyhow::Result<Self> {
        let transport = transport(smtp)?;
        let from = from_mailbox(config)?;
        Ok(Self {
            transport,
            from,
            config: config.clone(),
            owner: format!("{}/{}", store.instance_id(), uuid::Uuid::new_v4()),
        })
    }

    /// One round: claims the due e-mails and sends each. Returns how many
    /// were sent.
    pub async fn deliver_due(&self, store: &Store) -> installhub_store::Result<usize> {
        let mut sent = 0;
        loop {
            let claimed = store.claim_due_emails(&self.owner, LEASE, BATCH).await?;
            let full = i64::try_from(claimed.len()).unwrap_or(i64::MAX) >= BATCH;
            for email in claimed {
                if self.deliver(store, &email).await? {
                    sent += 1;
                }
            }
            if !full {
                return Ok(sent);
            }
        }
    }

    /// Sends one claimed e-mail and records the outcome. Returns whether it
    /// was sent.
    async fn deliver(&self, store: &Store, email: &OutboxEmail) -> installhub_store::Result<bool> {
        match self.send(email).await {
            Ok(()) => {
                if !store.email_sent(&email.id, &self.owner).await? {
                    tracing::warn!(email_id = %email.id, "e-mail sent after its lease ran out; another mailer may send it again");
                }
                metrics::counter!("installhub_emails_sent_total").increment(1);
                tracing::info!(email_id = %email.id, attempts = email.attempts, "notification e-mail sent");
                Ok(true)
            }
            Err(failure) => {
                let retry_at = if failure.permanent {
                    None
                } else {
                    retry_at(&self.config, email, Utc::now())
                };
                let outcome = if retry_at.is_some() {
                    "retry"
                } else {
                    "gave_up"
                };
                metrics::counter!("installhub_email_failures_total", "outcome" => outcome)
                    .increment(1);
                tracing::warn!(
                    email_id = %email.id,
                    attempts = email.attempts,
                    retry_at = ?retry_at,
                    error = %failure.message,
                    "notification e-mail not sent"
                );
                store
                    .email_failed(&email.id, &self.owner, &failure.message, retry_at)
                    .await?;
                Ok(false)
            }
        }
    }

    async fn send(&self, email: &OutboxEmail) -> Result<(), SendFailure> {
        let to = email.to.parse::<Mailbox>().map_err(|e| SendFailure {
            message: format!("'{}' is not an e-mail address: {e}", email.to),
            permanent: true,
        })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.as_str())
            .header(ContentType::TEXT_PLAIN)
            .body(email.body.clone())
            .map_err(|e| SendFailure {
                message: format!("the e-mail could not be built: {e}"),
                permanent: true,
            })?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| SendFailure {
                permanent: e.is_permanent(),
                message: format!("SMTP: {e}"),
            })
    }
}

struct SendFailure {
    message: String,
    /// The server refused it for good (5xx): retrying cannot help.
    permanent: bool,
}

/// When to try a failed e-mail again: `first_retry_delay` after the first
/// attempt, doubling each attempt up to `max_retry_delay`; `None` (give
/// up) once that is past `give_up_after` from when it was queued.
pub fn retry_at(
    config: &NotificationsConfig,
    email: &OutboxEmail,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let doublings = u32::try_from(email.attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let delay = config
        .first_retry_delay
        .saturating_mul(2u32.saturating_pow(doublings))
        .min(config.max_retry_delay);
    let next = now + chrono::Duration::from_std(delay).ok()?;
    let deadline = email.created_at + chrono::Duration::from_std(config.give_up_after).ok()?;
    (next <= deadline).then_some(next)
}

/// The mailer task: a round at start, then whenever woken
/// ([`AppState::wake_mailer`]) or `poll_every` passed. Runs until aborted.
pub async fn run_mailer(state: AppState, mailer: Mailer) {
    tracing::info!(owner = %mailer.owner, "notification mailer started");
    loop {
        if let Err(e) = mailer.deliver_due(state.store()).await {
            tracing::warn!(error = %e, "the notification mailer could not read the outbox");
        }
        match state.store().pending_email_count().await {
            Ok(pending) => metrics::gauge!("installhub_emails_pending").set(pending as f64),
            Err(e) => tracing::warn!(error = %e, "counting pending e-mails failed"),
        }
        tokio::select! {
            () = state.mailer_wake().notified() => {}
            () = tokio::time::sleep(mailer.config.poll_every) => {}
        }
    }
}

/// Starts [`run_mailer`] when `--smtp-url` is set.
pub fn start_mailer(state: &AppState) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let config = &state.config().notifications;
    let Some(smtp) = &config.smtp else {
        return Ok(None);
    };
    let mailer = Mailer::new(smtp, config, state.store())?;
    Ok(Some(tokio::spawn(run_mailer(state.clone(), mailer))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(attempts: i64, created_at: DateTime<Utc>) -> OutboxEmail {
        OutboxEmail {
            id: "eml-1".into(),
            notification_id: None,
            to: "ann@example.com".into(),
            subject: "s".into(),
            body: "b".into(),
            attempts,
            created_at,
        }
    }

    #[test]
    fn smtp_settings_are_checked_without_showing_the_password() {
        let mut config = NotificationsConfig::default();
        check_config(&config).unwrap();
        for url in [
            "http://mailer:hunter2@mail.example.com",
            "smtp://mailer:hunter2@",
        ] {
            config.smtp = Some(SmtpUrl::unchecked(url).unwrap());
            let err = format!("{:#}", check_config(&config).unwrap_err());
            assert!(err.contains("--smtp-url"), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
        config.smtp = Some(SmtpUrl::unchecked("smtps://mailer:hunter2@mail.example.com").unwrap());
        check_config(&config).unwrap();
        config.from = "not an address".to_owned();
        let err = format!("{:#}", check_config(&config).unwrap_err());
        assert!(err.contains("--smtp-from"), "{err}");
    }

    #[test]
    fn backoff_doubles_to_an_hour_then_gives_up_after_a_day() {
        let config = NotificationsConfig::default();
        let queued = Utc::now();
        let delay = |attempts: i64, now: DateTime<Utc>| {
            retry_at(&config, &email(attempts, queued), now).map(|at| (at - now).num_seconds())
        };
        assert_eq!(delay(1, queued), Some(5));
        assert_eq!(delay(2, queued), Some(10));
        assert_eq!(delay(4, queued), Some(40));
        assert_eq!(delay(11, queued), Some(3600));
        assert_eq!(delay(500, queued), Some(3600));
        let late = queued + chrono::Duration::hours(23) + chrono::Duration::minutes(30);
        assert_eq!(delay(30, late), None, "the next try would be past 24 h");
        assert_eq!(delay(1, late), Some(5));
    }
}
