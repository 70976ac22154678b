//! Standard Webhooks signatures: `webhook-signature: v1,BASE64(HMAC-SHA256(ID.TIMESTAMP.BODY))`
//! with the secret from `CER_FORWARD_SECRET` or `--forward-secret-file`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a forwarding secret cannot sign (a usage error: the person fixes the secret).
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// `whsec_` promised base64 that is not.
    #[error("the whsec_ secret is not valid base64 ({0})")]
    NotBase64(#[from] base64::DecodeError),
    /// Nothing to sign with.
    #[error("the forwarding secret is empty")]
    Empty,
}

/// The signing key. `Debug` never shows it.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(***)")
    }
}

impl Signer {
    /// `whsec_BASE64` is decoded, as Standard Webhooks libraries write secrets; any other
    /// text is used as its bytes.
    pub fn from_secret(secret: &str) -> Result<Self, SecretError> {
        let secret = secret.trim();
        let key = match secret.strip_prefix("whsec_") {
            Some(encoded) => STANDARD.decode(encoded)?,
            None => secret.as_bytes().to_vec(),
        };
        if key.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Self { key })
    }

    /// The `webhook-signature` value for one attempt.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        // HMAC accepts a key of any length, so this cannot fail; the fallback keeps it total.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return String::new();
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(id: &str, timestamp: i64, signature: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert("webhook-id", id.parse().unwrap());
        headers.insert("webhook-timestamp", timestamp.to_string().parse().unwrap());
        headers.insert("webhook-signature", signature.parse().unwrap());
        headers
    }

    #[test]
    fn an_independent_implementation_accepts_the_signature_and_rejects_a_wrong_secret() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let signer = Signer::from_secret(secret).unwrap();
        let body = br#"{"conversationSpaceId":"abc","b":1}"#;
        let now = jiff::Timestamp::now().as_second();
        let signature = signer.sign("abc", now, body);
        let verifier = standardwebhooks::Webhook::new(secret).unwrap();
        verifier
            .verify(body, &headers("abc", now, &signature))
            .expect("the signature verifies");
        let wrong =
            standardwebhooks::Webhook::new("whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB").unwrap();
        assert!(
            wrong
                .verify(body, &headers("abc", now, &signature))
                .is_err()
        );
        let tampered = br#"{"conversationSpaceId":"abc","b":2}"#;
        assert!(
            verifier
                .verify(tampered, &headers("abc", now, &signature))
                .is_err()
        );
    }

    #[test]
    fn a_plain_secret_is_used_as_bytes_and_an_empty_one_refused() {
        let plain = Signer::from_secret("hunter2").unwrap();
        assert_eq!(plain.key, b"hunter2");
        assert!(matches!(Signer::from_secret("  "), Err(SecretError::Empty)));
        assert!(matches!(
            Signer::from_secret("whsec_***"),
            Err(SecretError::NotBase64(_))
        ));
        assert!(!format!("{plain:?}").contains("hunter2"));
    }
}
