//! BigCommerce's own Python client library (`pip install bigcommerce`) manages carts on
//! Kassa over HTTPS, changing nothing but its host. Skipped with a notice when the
//! library is not installed; a failure under `CI=true`, where `.ci/run` installs it.

mod common;

use common::TestApp;
use std::io::Write;
use std::process::Command;

on_both_backends!(python_client_manages_carts);

fn python_client_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import bigcommerce.connection"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but the `bigcommerce` Python package is not importable");
        }
        let _ = writeln!(
            std::io::stderr(),
            "\n*** client library test SKIPPED: `pip install bigcommerce` to run it ***\n"
        );
    }
    ok
}

async fn python_client_manages_carts(app: TestApp) {
    if !python_client_available() {
        return;
    }
    // The macro's app speaks HTTP; this test needs its own HTTPS one on the same backend.
    let backend = app.backend;
    drop(app);
    let dir = std::env::temp_dir().join(format!("kassa-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let tls = kassa::startup::TlsFiles {
        cert: cert_path.clone(),
        key: key_path,
    };
    let Some(app) = common::spawn_app_with(backend, Some(tls)).await else {
        return;
    };
    let app = app.with_fixtures().await;
    let port = app.base.rsplit(':').next().unwrap().to_string();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/clients/bigcommerce_python.py"
    );
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .env("KASSA_HOST", format!("localhost:{port}"))
        .env("KASSA_TOKEN", common::TOKEN)
        .env("KASSA_PRODUCT_ID", "940")
        .env("REQUESTS_CA_BUNDLE", &cert_path)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "python client failed on {backend:?}:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
