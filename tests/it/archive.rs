//! The archive (SPEC section 13) on a real S3-compatible store: what cer writes is read back
//! with boto3, byte for byte; large objects go up in parts; an upload that breaks off leaves
//! no object under its name and no open multipart upload.

use bytes::Bytes;
use cer::archive::{Archive, ArchiveError, ArchiveLocation, Chunks, S3Settings};
use cer::secret::Secret;

use super::s3;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn s3_archive(server: &s3::S3Server, bucket: &str, prefix: &str) -> Archive {
    let settings = S3Settings {
        access_key_id: Some(s3::ACCESS_KEY.to_string()),
        secret_access_key: Some(Secret::new(s3::SECRET_KEY)),
        session_token: None,
        region: "us-east-1".to_string(),
        endpoint: Some(server.endpoint.parse().unwrap()),
    };
    let location = ArchiveLocation::S3 {
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
    };
    let http = cer::api::http::client_reaching(None, None, &["http://127.0.0.1/"]).unwrap();
    Archive::open(&location, &settings, http).unwrap()
}

/// `len` bytes no two runs of which repeat soon, in chunks of 64 KiB.
fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn chunks_of(bytes: &[u8], then_fail: bool) -> Chunks<'static> {
    let mut parts: Vec<Result<Bytes, std::io::Error>> = bytes
        .chunks(64 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    if then_fail {
        parts.push(Err(std::io::Error::other(
            "connection reset by GoTo's storage",
        )));
    }
    Box::pin(futures_util::stream::iter(parts))
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn s3_archive_is_byte_identical_path_style_and_multipart_when_large() {
    let Some(server) = s3::shared() else { return };
    let bucket = server.fresh_bucket();
    let archive = s3_archive(server, &bucket, "goto/calls");
    let rt = runtime();
    let small = br#"{"conversationSpaceId": "c1", "z": 1, "a": 2}"#.to_vec();
    let done = rt
        .block_on(archive.put(
            "2026/01/02/c1/report.json",
            "application/json",
            chunks_of(&small, false),
        ))
        .unwrap();
    assert_eq!(done.bytes, small.len() as u64);
    assert_eq!(done.sha256, sha256_hex(&small));
    // The endpoint is an IP address: only a path-style request can reach the bucket.
    assert_eq!(
        server.object(&bucket, "goto/calls/2026/01/02/c1/report.json"),
        Some(small)
    );

    let large = data(19 * 1024 * 1024);
    let key = "2026/01/02/c1/recording-r1.mp3";
    let done = rt
        .block_on(archive.put(key, "audio/mpeg", chunks_of(&large, false)))
        .unwrap();
    assert_eq!(done.sha256, sha256_hex(&large));
    let full = format!("goto/calls/{key}");
    assert!(
        server.object(&bucket, &full) == Some(large.clone()),
        "the large object differs"
    );
    let (etag, content_type) = server.head(&bucket, &full);
    assert!(
        etag.trim_matches('"').ends_with("-3"),
        "not a 3-part upload: {etag}"
    );
    assert_eq!(content_type, "audio/mpeg");
    assert_eq!(rt.block_on(archive.rehash(key)).unwrap(), Some(done));
    assert_eq!(
        rt.block_on(archive.list("2026/01/02/c1")).unwrap(),
        vec![
            "2026/01/02/c1/recording-r1.mp3",
            "2026/01/02/c1/report.json"
        ]
    );
    assert_eq!(
        rt.block_on(archive.rehash("2026/01/02/c1/none.mp3"))
            .unwrap(),
        None
    );
}

#[test]
fn an_interrupted_s3_upload_leaves_no_object_under_its_name() {
    let Some(server) = s3::shared() else { return };
    let bucket = server.fresh_bucket();
    let archive = s3_archive(server, &bucket, "");
    let rt = runtime();
    // Cut after two parts' worth (a multipart upload under way) and before one (a single PUT).
    for (key, len) in [
        ("d/c/recording-big.mp3", 17 * 1024 * 1024),
        ("d/c/recording-small.mp3", 1000),
    ] {
        let err = rt
            .block_on(archive.put(key, "audio/mpeg", chunks_of(&data(len), true)))
            .unwrap_err();
        assert!(matches!(err, ArchiveError::Source(_)), "{err}");
    }
    assert_eq!(server.keys(&bucket), Vec::<String>::new());
    assert_eq!(
        server.open_uploads(&bucket),
        0,
        "the multipart upload was not aborted"
    );
}

mod media_rows {
    use std::time::Duration;

    use cer::store::media::{MediaItem, MediaKind, MediaOutcome};
    use cer::store::{Store, StoreLocation};
    use jiff::Timestamp;

    use super::super::postgres;

    fn item(call: &str, kind: MediaKind, id: &str) -> MediaItem {
        MediaItem {
            call: call.to_string(),
            kind,
            media_id: id.to_string(),
            participant_id: Some("p1".to_string()),
        }
    }

    /// Two openings of one store are two listeners: each holds its own leases.
    async fn each_object_is_claimed_once(location: StoreLocation) {
        let (a, b) = (
            Store::open(&location).await.unwrap(),
            Store::open(&location).await.unwrap(),
        );
        let now: Timestamp = "2026-01-02T10:00:00Z".parse().unwrap();
        let lease = Duration::from_secs(60);
        let items = [
            item("c1", MediaKind::Recording, "r1"),
            item("c1", MediaKind::Transcript, "t1"),
            item("c2", MediaKind::Recording, "r2"),
        ];
        a.plan_media(&items, now).await.unwrap();
        a.plan_media(&items, now).await.unwrap();
        let only_c1 = a.claim_media(Some("c1"), now, lease, 10).await.unwrap();
        assert_eq!(only_c1.len(), 2, "{only_c1:?}");
        let rest = b.claim_media(None, now, lease, 10).await.unwrap();
        assert_eq!(
            rest.iter()
                .map(|c| c.item.media_id.as_str())
                .collect::<Vec<_>>(),
            ["r2"]
        );
        assert!(
            b.claim_media(None, now, lease, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let archived = MediaOutcome::Archived {
            object_key: "2026/01/02/c1/recording-r1.mp3".into(),
            bytes: 4,
            sha256: "ab".into(),
            content_type: "audio/mpeg".into(),
        };
        assert!(a.settle_media(&only_c1[0], &archived, now).await.unwrap());
        // A's lease on t1 runs out: B takes it, and A's late result no longer counts.
        let later = now + jiff::SignedDuration::from_secs(61);
        let taken = b.claim_media(Some("c1"), later, lease, 10).await.unwrap();
        assert_eq!(taken.len(), 1);
        assert!(
            !a.settle_media(&only_c1[1], &MediaOutcome::Gone, later)
                .await
                .unwrap()
        );
        assert!(
            b.settle_media(&taken[0], &MediaOutcome::Gone, later)
                .await
                .unwrap()
        );
        let rows = a.media_of_call("c1").await.unwrap();
        let states: Vec<_> = rows
            .iter()
            .map(|r| (r.item.media_id.as_str(), r.state.as_str()))
            .collect();
        assert_eq!(states, [("r1", "archived"), ("t1", "gone")]);
        assert_eq!(rows[0].sha256.as_deref(), Some("ab"));
        assert_eq!(rows[0].bytes, Some(4));
        // A retry waits until it is due.
        let retry = MediaOutcome::Retry {
            error: "not ready".into(),
            next: later + jiff::SignedDuration::from_secs(30),
        };
        assert!(b.settle_media(&rest[0], &retry, now).await.unwrap());
        assert!(
            a.claim_media(None, later, lease, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let due = later + jiff::SignedDuration::from_secs(30);
        assert_eq!(a.claim_media(None, due, lease, 10).await.unwrap().len(), 1);
    }

    #[test]
    fn listeners_sharing_a_store_archive_each_object_once() {
        let rt = super::runtime();
        let dir = tempfile::tempdir().unwrap();
        rt.block_on(each_object_is_claimed_once(StoreLocation::Sqlite(
            dir.path().join("cer.db"),
        )));
        if let Some(url) = postgres::fresh_database() {
            rt.block_on(each_object_is_claimed_once(
                StoreLocation::parse(&url).unwrap(),
            ));
        }
    }
}
