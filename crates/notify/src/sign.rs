//! The Standard Webhooks signature (standardwebhooks.com, used by Svix and others):
//! `webhook-signature: v1,<base64 of HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
//!
//! A receiver rejects timestamps more than five minutes off and dedups on `webhook-id`,
//! so a retry keeps its id and gets a fresh timestamp and signature.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The `webhook-signature` header value for one attempt.
pub fn signature(key: &[u8], id: &str, timestamp: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(tag)
    )
}

/// A fresh message id (`msg_` and 24 random alphanumerics).
pub fn message_id() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    format!(
        "msg_{}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 24)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_content_is_id_timestamp_and_body_joined_by_dots() {
        // RFC 4231 test case 2 (key "Jefe"), with the content split the way we build it.
        let sig = signature(b"Jefe", "what do ya want ", 0, b"for nothing?");
        let whole = {
            let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
            mac.update(b"what do ya want .0.for nothing?");
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        };
        assert_eq!(sig, format!("v1,{whole}"));
        // HMAC-SHA256("Jefe", "what do ya want for nothing?") from RFC 4231, as a check
        // that the primitive is the right one.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(message_id().starts_with("msg_"));
        assert_ne!(message_id(), message_id());
    }
}
