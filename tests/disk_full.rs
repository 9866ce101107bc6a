//! A file system that fills up under a running Kassa, on both backends: writes are
//! answered 503 with `Retry-After` in the API's own shape, nothing is half-written (the
//! cart reads back as before the refused write), the database stays sound, and writes
//! succeed again by themselves once space is freed.
//!
//! The file system is a real one: a small tmpfs the test mounts (it needs root) and fills
//! with a file. SQLite keeps its database file there; PostgreSQL gets a tablespace there
//! and a database whose tables live in it (so its write-ahead log, elsewhere, still has
//! room, as when a data volume fills). Where mounting is not permitted the test is skipped
//! with a notice; under `CI=true` that is a failure unless `KASSA_TEST_SKIP_DISK_FULL=1`
//! says the CI machine cannot mount.

mod common;

use common::flow::CARTS;
use common::{AppOptions, Backend, notice, spawn_app_on};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

/// A tmpfs of a few megabytes, unmounted (lazily, after Kassa closed its files) on drop.
struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> Option<SmallDisk> {
        let dir =
            std::env::temp_dir().join(format!("kassa-full-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).ok()?;
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(&dir)
            .output()
            .is_ok_and(|o| o.status.success());
        if !mounted {
            let _ = std::fs::remove_dir(&dir);
            return None;
        }
        Some(SmallDisk { dir })
    }

    /// Writes a file until the file system refuses more.
    fn fill(&self) -> PathBuf {
        let path = self.dir.join("filler");
        let mut f = std::fs::File::create(&path).expect("create filler");
        for chunk in [64 * 1024, 4096, 512] {
            let block = vec![0u8; chunk];
            while f.write_all(&block).is_ok() {}
        }
        let _ = f.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // A PostgreSQL tablespace still here (its `PG_…` directory) must keep its disk.
        let tablespace_left = std::fs::read_dir(&self.dir).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("PG_"))
        });
        if tablespace_left {
            notice(&format!(
                "{} stays mounted: a PostgreSQL tablespace is still on it",
                self.dir.display()
            ));
            return;
        }
        let _ = Command::new("umount").arg("-l").arg(&self.dir).output();
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Units in the cart, over every kind of line.
fn quantity(cart: &Value) -> i64 {
    ["physical_items", "custom_items"]
        .iter()
        .filter_map(|kind| cart["line_items"][kind].as_array())
        .flatten()
        // Custom items carry it as a string, as `carts.v3.yml` types it.
        .map(|l| {
            l["quantity"]
                .as_i64()
                .or_else(|| l["quantity"].as_str()?.parse().ok())
                .unwrap()
        })
        .sum()
}

/// A new custom line with a long name: each one makes the stored cart bigger, so the
/// database soon needs a new page (PostgreSQL rewrites a small row inside its page), and
/// none runs out of stock.
fn new_line(n: usize) -> Value {
    json!({"custom_items": [{
        "sku": format!("FILL-{n}"),
        // Random, so that compression cannot make it small.
        "name": format!("Filler line {n} {}", (0..6).map(|_| uuid::Uuid::new_v4().simple().to_string()).collect::<String>()),
        "quantity": 1,
        "list_price": 1.25
    }]})
}

/// A small disk, or `None` (the test is skipped) where mounting is not permitted.
fn small_disk(megabytes: u32) -> Option<SmallDisk> {
    let disk = SmallDisk::mount(megabytes);
    if disk.is_none() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        let opted_out = std::env::var("KASSA_TEST_SKIP_DISK_FULL").is_ok_and(|v| v == "1");
        assert!(
            !ci || opted_out,
            "CI=true but a tmpfs could not be mounted for the disk-full test (run as root, or set KASSA_TEST_SKIP_DISK_FULL=1)"
        );
        notice("disk-full test SKIPPED: mounting a small tmpfs is not permitted here (needs root)");
    }
    disk
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_503_with_retry_after_and_writes_resume_when_space_returns() {
    let Some(disk) = small_disk(16) else {
        return;
    };
    let url = format!("sqlite://{}", disk.dir.join("kassa.db").display());
    let app = spawn_app_on(Backend::Sqlite, &url, AppOptions::default()).await;
    let app = app.with_fixtures().await;
    fill_refuse_and_recover(&app, &disk, true).await;

    // And the file is sound.
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{}",
        disk.dir.join("kassa.db").display()
    ))
    .await
    .expect("open the database");
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .expect("integrity check");
    assert_eq!(check, "ok");
    drop(conn);
    app.stop().await;
}

/// Fills the disk under `app`, writes until Kassa refuses, checks the refusal and that
/// nothing was half-written, frees the space and checks that writes resume.
/// `new_carts_refused`: a new cart needs new space (SQLite); PostgreSQL may still fit one
/// in a page it has.
async fn fill_refuse_and_recover(app: &common::TestApp, disk: &SmallDisk, new_carts_refused: bool) {
    let add = json!({"line_items": [{"product_id": 940, "quantity": 1}]});
    let r = app.post(CARTS, add.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let cart = format!("{CARTS}/{}", r.data()["id"].as_str().unwrap());
    let mut lines = 0;

    let filler = disk.fill();
    // The database's files may have a little room left inside them: write until refused.
    let mut acknowledged = app.get(&cart).await.data().clone();
    let mut refused = None;
    for _ in 0..500 {
        lines += 1;
        let r = app.post(&format!("{cart}/items"), new_line(lines)).await;
        match r.status {
            StatusCode::CREATED => acknowledged = r.data().clone(),
            StatusCode::SERVICE_UNAVAILABLE => {
                refused = Some(r);
                break;
            }
            other => panic!("a write on a full disk answered {other}: {}", r.body),
        }
    }
    let r = refused.expect("a write is refused once the disk is full");
    assert_eq!(r.body["status"], 503, "{}", r.body);
    assert!(
        r.body["title"]
            .as_str()
            .unwrap()
            .contains("database is full"),
        "{}",
        r.body
    );
    assert!(r.headers.contains_key("retry-after"), "{:?}", r.headers);
    // Nothing half-written: the cart is as the last acknowledged write left it.
    let now = app.get(&cart).await;
    assert_eq!(now.status, StatusCode::OK, "{}", now.body);
    assert_eq!(quantity(now.data()), quantity(&acknowledged));
    assert_eq!(now.data()["cart_amount"], acknowledged["cart_amount"]);
    // A new cart is refused the same way (or, where a page had room, made whole).
    let r = app.post(CARTS, add.clone()).await;
    if new_carts_refused || r.status != StatusCode::CREATED {
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    }

    // Space returns: writes succeed again without a restart.
    std::fs::remove_file(&filler).expect("free the space");
    let r = app
        .post(&format!("{cart}/items"), new_line(lines + 1))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(quantity(r.data()), quantity(&acknowledged) + 1);
    let r = app.post(CARTS, add).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

/// A PostgreSQL database whose tables live in a tablespace on `disk`. Dropping it drops
/// the database and the tablespace, even when the test panics: it must go before the disk
/// is unmounted, or PostgreSQL's checkpointer finds its files gone and the server stops
/// (`PANIC: could not fsync file`), for every test sharing it. Declare it after the disk.
struct FullableDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl FullableDatabase {
    /// `None` where the PostgreSQL server cannot use the directory (not on this machine,
    /// or no `postgres` system user to own it).
    async fn create(base: &str, disk: &SmallDisk) -> Option<FullableDatabase> {
        let owned = Command::new("chown")
            .arg("postgres:postgres")
            .arg(&disk.dir)
            .output()
            .is_ok_and(|o| o.status.success());
        if !owned {
            return None;
        }
        let admin = sqlx::PgPool::connect(base)
            .await
            .expect("connect to KASSA_TEST_DATABASE_URL");
        let name = format!("kassa_full_{}", uuid::Uuid::new_v4().simple());
        let location = disk.dir.display().to_string().replace('\'', "''");
        // The same server and credentials, another database.
        let (head, query) = match base.split_once('?') {
            Some((h, q)) => (h, format!("?{q}")),
            None => (base, String::new()),
        };
        let (server, _) = head
            .rsplit_once('/')
            .expect("a database name in KASSA_TEST_DATABASE_URL");
        let db = FullableDatabase {
            admin_url: base.to_string(),
            url: format!("{server}/{name}{query}"),
            name,
        };
        for sql in [
            format!("CREATE TABLESPACE {} LOCATION '{location}'", db.name),
            format!("CREATE DATABASE {0} TABLESPACE {0}", db.name),
        ] {
            if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&admin).await {
                notice(&format!("PostgreSQL cannot use the small disk ({e})"));
                admin.close().await;
                return None; // dropping `db` removes whatever was made
            }
        }
        admin.close().await;
        Some(db)
    }
}

impl Drop for FullableDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // On a thread of its own: this may run inside the test's runtime, which cannot
        // block on a future itself.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to drop the test database");
            runtime.block_on(async {
                let admin = sqlx::PgPool::connect(&admin_url).await?;
                for sql in [
                    format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    format!("DROP TABLESPACE IF EXISTS {name}"),
                ] {
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&admin)
                        .await?;
                }
                admin.close().await;
                Ok::<(), sqlx::Error>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            // Leave the disk mounted rather than pull it from under a live tablespace.
            notice(&format!(
                "could not drop the test database {}: {dropped:?}",
                self.name
            ));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_on_a_full_disk_is_503_with_retry_after_and_recovers() {
    let Some(base) = common::postgres_url() else {
        return;
    };
    let Some(disk) = small_disk(48) else {
        return;
    };
    let Some(db) = FullableDatabase::create(&base, &disk).await else {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        let opted_out = std::env::var("KASSA_TEST_SKIP_DISK_FULL").is_ok_and(|v| v == "1");
        assert!(
            !ci || opted_out,
            "CI=true but PostgreSQL could not put a tablespace on the small disk (it must run on this machine as the `postgres` user)"
        );
        notice("PostgreSQL disk-full test SKIPPED: the server cannot use a local tablespace");
        return;
    };
    let app = spawn_app_on(Backend::Postgres, &db.url, AppOptions::default()).await;
    let app = app.with_fixtures().await;
    fill_refuse_and_recover(&app, &disk, false).await;
    app.stop().await;
    drop(db);
}
