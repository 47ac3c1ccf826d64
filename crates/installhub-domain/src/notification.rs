//! In-app notifications (SPEC §8, seed 04 "Install Notifications"): what
//! the installing user is told when a marketplace install completes. The
//! store keeps them (and their e-mails' outbox); the server lists them to
//! their recipient only.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

crate::model::wire_enum!(
    /// What a notification is about. A failure's notification carries the
    /// error, its message and a link to the import's audit entry.
    NotificationKind {
        InstallSucceeded => "InstallSucceeded",
        InstallFailed => "InstallFailed",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for kind in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(*kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
        assert_eq!(
            NotificationKind::parse("InstallFailed"),
            Some(NotificationKind::InstallFailed)
        );
        assert_eq!(NotificationKind::parse("installfailed"), None);
    }
}
