//! An `s3://BUCKET[/PREFIX]` archive on any S3-compatible store. rusty-s3 signs each request
//! (presigned URLs, SigV4) and cer's own reqwest client sends it. An object smaller than one
//! part is sent in one PUT once it is whole; a larger one as a multipart upload, completed only
//! when every part is in and aborted on any failure, so a reader never meets half an object.
//! Memory holds one part at most. Signed URLs carry a signature (and a session token, when
//! set): they are never logged, and errors name the host only.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use rusty_s3::actions::{
    CompleteMultipartUpload, CompleteMultipartUploadResponse, CreateMultipartUpload, ListObjectsV2,
    S3Action,
};
use rusty_s3::{Bucket, Credentials, UrlStyle};
use url::Url;

use super::location::S3Settings;
use super::{ArchiveError, Archived, Chunks, Tally};
use crate::net::body::BodyError;
use crate::net::describe_transport;

/// The size of a multipart upload's parts (S3 wants at least 5 MiB but for the last).
const PART: usize = 8 * 1024 * 1024;
/// How long a signed URL stays valid.
const SIGNED_FOR: Duration = Duration::from_secs(3600);
/// How long one request may take, a part's upload included.
const REQUEST_TIME: Duration = Duration::from_secs(10 * 60);
/// The largest listing or error body cer reads.
const MAX_XML: usize = 4 * 1024 * 1024;

/// A bucket, a key prefix and the credentials to reach them.
#[derive(Clone)]
pub struct S3Archive {
    bucket: Bucket,
    credentials: Credentials,
    prefix: String,
    shown: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for S3Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Archive")
            .field("archive", &self.shown)
            .finish_non_exhaustive()
    }
}

impl S3Archive {
    pub(super) fn new(
        bucket: &str,
        prefix: &str,
        settings: &S3Settings,
        http: reqwest::Client,
    ) -> Result<Self, ArchiveError> {
        let shown = if prefix.is_empty() {
            format!("s3://{bucket}")
        } else {
            format!("s3://{bucket}/{prefix}")
        };
        let (Some(key), Some(secret)) = (&settings.access_key_id, &settings.secret_access_key)
        else {
            return Err(ArchiveError::Config(format!(
                "the archive {shown} needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            )));
        };
        let credentials = match &settings.session_token {
            Some(token) => Credentials::new_with_token(key, secret.expose(), token.expose()),
            None => Credentials::new(key, secret.expose()),
        };
        // With an endpoint of its own (MinIO, SeaweedFS, Ceph) the bucket is a path part;
        // AWS itself wants it in the host name.
        let (endpoint, style) = match &settings.endpoint {
            Some(endpoint) => (endpoint.clone(), UrlStyle::Path),
            None => (aws_endpoint(&settings.region)?, UrlStyle::VirtualHost),
        };
        let bucket = Bucket::new(endpoint, style, bucket.to_string(), settings.region.clone())
            .map_err(|err| ArchiveError::Config(format!("the archive {shown}: {err}")))?;
        Ok(Self {
            bucket,
            credentials,
            prefix: prefix.to_string(),
            shown,
            http,
        })
    }

    pub(super) fn shown(&self) -> String {
        self.shown.clone()
    }

    fn object(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        }
    }

    fn failed(&self, reason: impl Into<String>) -> ArchiveError {
        ArchiveError::Failed {
            archive: self.shown.clone(),
            reason: reason.into(),
        }
    }

    /// Sends a signed request and wants a 2xx, else an error naming what failed.
    async fn send(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ArchiveError> {
        let response = request
            .timeout(REQUEST_TIME)
            .send()
            .await
            .map_err(|err| self.failed(format!("{what}: {}", describe_transport(&err))))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = crate::net::body::read_capped(response, MAX_XML)
            .await
            .unwrap_or_default();
        let code = xml_text(&String::from_utf8_lossy(&body), "Code").unwrap_or_default();
        Err(self.failed(format!("{what}: {status} {code}").trim_end().to_string()))
    }

    pub(super) async fn put(
        &self,
        key: &str,
        content_type: &str,
        mut chunks: Chunks<'_>,
    ) -> Result<Archived, ArchiveError> {
        let mut tally = Tally::default();
        let mut parts = Parts::new(&mut chunks);
        let first = parts.next(&mut tally).await?.unwrap_or_default();
        if parts.ended() {
            self.put_whole(key, content_type, first).await?;
            return Ok(tally.finish(key));
        }
        let object = self.object(key);
        let action = CreateMultipartUpload::new(&self.bucket, Some(&self.credentials), &object);
        let request = self
            .http
            .post(action.sign(SIGNED_FOR))
            .header(reqwest::header::CONTENT_TYPE, content_type);
        let answer = self.send("starting a multipart upload", request).await?;
        let body = self.read_xml(answer).await?;
        let created = CreateMultipartUpload::parse_response(&body)
            .map_err(|err| self.failed(format!("starting a multipart upload: {err}")))?;
        let upload_id = created.upload_id().to_string();
        let sent = self
            .send_parts(&object, &upload_id, first, &mut parts, &mut tally)
            .await;
        if sent.is_err() {
            self.abort(&object, &upload_id).await;
        }
        sent.map(|()| tally.finish(key))
    }

    async fn put_whole(
        &self,
        key: &str,
        content_type: &str,
        body: Bytes,
    ) -> Result<(), ArchiveError> {
        let object = self.object(key);
        let url = self
            .bucket
            .put_object(Some(&self.credentials), &object)
            .sign(SIGNED_FOR);
        let request = self
            .http
            .put(url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        self.send("uploading", request).await.map(drop)
    }

    async fn send_parts(
        &self,
        object: &str,
        upload_id: &str,
        first: Bytes,
        parts: &mut Parts<'_, '_>,
        tally: &mut Tally,
    ) -> Result<(), ArchiveError> {
        let mut etags = vec![self.upload_part(object, upload_id, 1, first).await?];
        while let Some(part) = parts.next(tally).await? {
            let number = u16::try_from(etags.len() + 1)
                .map_err(|_| self.failed("more than 10,000 parts"))?;
            etags.push(self.upload_part(object, upload_id, number, part).await?);
        }
        let action = CompleteMultipartUpload::new(
            &self.bucket,
            Some(&self.credentials),
            object,
            upload_id,
            etags.iter().map(String::as_str),
        );
        let url = action.sign(SIGNED_FOR);
        let answer = self
            .send(
                "completing a multipart upload",
                self.http.post(url).body(action.body()),
            )
            .await?;
        // S3 may answer 200 and still have failed, with the error in the body.
        let body = self.read_xml(answer).await?;
        CompleteMultipartUploadResponse::parse(&body)
            .map(drop)
            .map_err(|_| self.failed("completing a multipart upload: refused"))
    }

    async fn upload_part(
        &self,
        object: &str,
        upload_id: &str,
        number: u16,
        body: Bytes,
    ) -> Result<String, ArchiveError> {
        let url = self
            .bucket
            .upload_part(Some(&self.credentials), object, number, upload_id)
            .sign(SIGNED_FOR);
        let answer = self
            .send("uploading a part", self.http.put(url).body(body))
            .await?;
        answer
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| self.failed("uploading a part: no ETag in the answer"))
    }

    /// Best effort: a multipart upload left behind costs storage until a lifecycle rule goes.
    async fn abort(&self, object: &str, upload_id: &str) {
        let url = self
            .bucket
            .abort_multipart_upload(Some(&self.credentials), object, upload_id)
            .sign(SIGNED_FOR);
        if let Err(err) = self
            .send("aborting a multipart upload", self.http.delete(url))
            .await
        {
            tracing::warn!("{err}");
        }
    }

    async fn read_xml(&self, response: reqwest::Response) -> Result<String, ArchiveError> {
        // reqwest's own error text holds the URL, and a signed URL is a secret.
        let body = crate::net::body::read_capped(response, MAX_XML)
            .await
            .map_err(|err| match err {
                BodyError::Transport(err) => self.failed(describe_transport(&err)),
                too_large @ BodyError::TooLarge(_) => self.failed(too_large.to_string()),
            })?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// The object's size and SHA-256 as the store reads it back now (`None`: not there).
    pub(super) async fn rehash(&self, key: &str) -> Result<Option<Archived>, ArchiveError> {
        let Some(mut chunks) = self.read(key).await? else {
            return Ok(None);
        };
        let mut tally = Tally::default();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(|err| self.failed(format!("reading: {err}")))?;
            tally.add(&chunk);
        }
        Ok(Some(tally.finish(key)))
    }

    pub(super) async fn read(&self, key: &str) -> Result<Option<Chunks<'static>>, ArchiveError> {
        let object = self.object(key);
        let url = self
            .bucket
            .get_object(Some(&self.credentials), &object)
            .sign(SIGNED_FOR);
        let response = self
            .http
            .get(url)
            .timeout(REQUEST_TIME)
            .send()
            .await
            .map_err(|err| self.failed(format!("reading: {}", describe_transport(&err))))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = self.send_checked(response, "reading")?;
        // reqwest's own error text holds the signed URL: only the transport's kind is kept.
        let chunks = futures_util::stream::try_unfold(response, |mut response| async move {
            match response.chunk().await {
                Ok(chunk) => Ok(chunk.map(|chunk| (chunk, response))),
                Err(err) => Err(std::io::Error::other(describe_transport(&err))),
            }
        });
        Ok(Some(Box::pin(chunks)))
    }

    fn send_checked(
        &self,
        response: reqwest::Response,
        what: &str,
    ) -> Result<reqwest::Response, ArchiveError> {
        let status = response.status();
        if status.is_success() {
            Ok(response)
        } else {
            Err(self.failed(format!("{what}: {status}")))
        }
    }

    pub(super) async fn delete(&self, key: &str) -> Result<(), ArchiveError> {
        let url = self
            .bucket
            .delete_object(Some(&self.credentials), &self.object(key))
            .sign(SIGNED_FOR);
        self.send("deleting", self.http.delete(url)).await?;
        Ok(())
    }

    pub(super) async fn list(&self, folder: &str) -> Result<Vec<String>, ArchiveError> {
        let prefix = format!("{}/", self.object(folder));
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut action = ListObjectsV2::new(&self.bucket, Some(&self.credentials));
            action.with_prefix(prefix.as_str());
            action.with_delimiter("/");
            if let Some(token) = &token {
                action.with_continuation_token(token.clone());
            }
            let answer = self
                .send("listing", self.http.get(action.sign(SIGNED_FOR)))
                .await?;
            let body = self.read_xml(answer).await?;
            let page = ListObjectsV2::parse_response(&body)
                .map_err(|err| self.failed(format!("listing: {err}")))?;
            let relative = |key: &str| {
                key.strip_prefix(&prefix)
                    .map(|name| format!("{folder}/{name}"))
            };
            keys.extend(page.contents.iter().filter_map(|c| relative(&c.key)));
            match page.next_continuation_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        keys.sort();
        Ok(keys)
    }
}

fn aws_endpoint(region: &str) -> Result<Url, ArchiveError> {
    Url::parse(&format!("https://s3.{region}.amazonaws.com"))
        .map_err(|_| ArchiveError::Config(format!("AWS_REGION {region:?} is not a region name")))
}

/// The text of the first `<tag>…</tag>` in an S3 error body (`Code`), for a message.
fn xml_text(body: &str, tag: &str) -> Option<String> {
    let start = body.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    let text: String = body[start..end].chars().take(80).collect();
    Some(crate::escape::terminal_safe(&text).into_owned())
}

/// A stream cut into parts of exactly [`PART`] bytes (the last one shorter), each filled into
/// a buffer allocated once at that size: a buffer grown chunk by chunk doubles past a part's
/// size, and a frozen part keeps the whole allocation alive while it is uploaded.
struct Parts<'c, 'a> {
    chunks: &'c mut Chunks<'a>,
    /// What a chunk had beyond the part it filled: the start of the next part.
    carried: Option<Bytes>,
    ended: bool,
}

impl<'c, 'a> Parts<'c, 'a> {
    fn new(chunks: &'c mut Chunks<'a>) -> Self {
        Self {
            chunks,
            carried: None,
            ended: false,
        }
    }

    /// Whether the stream is read to its end and nothing of it is left to send.
    fn ended(&self) -> bool {
        self.ended && self.carried.is_none()
    }

    /// The next part, `None` once everything was handed out; each byte is counted in
    /// `tally` as it is read.
    async fn next(&mut self, tally: &mut Tally) -> Result<Option<Bytes>, ArchiveError> {
        let mut part = BytesMut::with_capacity(PART);
        while part.len() < PART {
            let chunk = match self.carried.take() {
                Some(carried) => carried,
                None if self.ended => break,
                None => match self.chunks.next().await {
                    Some(chunk) => {
                        let chunk = chunk.map_err(ArchiveError::Source)?;
                        tally.add(&chunk);
                        chunk
                    }
                    None => {
                        self.ended = true;
                        break;
                    }
                },
            };
            let room = PART - part.len();
            if chunk.len() > room {
                part.extend_from_slice(&chunk[..room]);
                self.carried = Some(chunk.slice(room..));
            } else {
                part.extend_from_slice(&chunk);
            }
        }
        Ok((!part.is_empty()).then(|| part.freeze()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunks of odd sizes become whole parts of exactly `PART` bytes and a shorter last one,
    /// in order, each byte counted once.
    #[tokio::test]
    async fn a_stream_is_cut_into_exact_parts_whatever_its_chunks() {
        let data: Vec<u8> = (0..PART * 5 / 2).map(|i| (i % 251) as u8).collect();
        let pieces: Vec<Result<Bytes, std::io::Error>> = data
            .chunks(3 * 1024 * 1024 + 17)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let mut chunks: Chunks<'static> = Box::pin(futures_util::stream::iter(pieces));
        let mut parts = Parts::new(&mut chunks);
        let mut tally = Tally::default();
        let mut sizes = Vec::new();
        let mut joined = Vec::new();
        while let Some(part) = parts.next(&mut tally).await.unwrap() {
            sizes.push(part.len());
            joined.extend_from_slice(&part);
        }
        assert_eq!(sizes, [PART, PART, PART / 2]);
        assert!(parts.ended());
        assert!(joined == data, "the parts are the stream, in order");
        assert_eq!(tally.finish("k").bytes, data.len() as u64);
    }
}
