use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use kassa::domain::scope::Scopes;
use kassa::service::Kassa;
use kassa::startup::{
    Application, Settings, TlsFiles, shutdown_signal, spawn_cart_sweeper, spawn_reservation_sweeper,
};
use kassa::store::{Store, redact_url};
use std::sync::Arc;

/// Request handling allocates and frees many small JSON values and strings across two
/// threads; mimalloc does that with far less time in the allocator than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "kassa",
    version,
    about = "Headless cart and checkout engine speaking BigCommerce's APIs"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Args, Clone)]
struct DatabaseArg {
    /// Database URL: sqlite://FILE (created if missing) or postgres://…
    #[arg(
        long = "database",
        env = "KASSA_DATABASE_URL",
        default_value = "sqlite://kassa.db"
    )]
    url: String,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(DatabaseArg),
    /// Manage stores.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "KASSA_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    #[command(flatten)]
    database: DatabaseArg,
    /// Create the demo store (hash `demo`) if it is missing.
    #[arg(long, env = "KASSA_DEMO")]
    demo: bool,
    /// The demo store's API token; generated and printed once when unset.
    #[arg(long, env = "KASSA_DEMO_TOKEN", hide_env_values = true)]
    demo_token: Option<String>,
    /// Base URL shoppers reach Kassa at (for cart and checkout URLs).
    #[arg(long, env = "KASSA_PUBLIC_URL")]
    public_url: Option<String>,
    /// PEM certificate (chain) to serve HTTPS; needs --tls-key.
    #[arg(long, env = "KASSA_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "KASSA_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Create a store.
    Create {
        /// The store hash used in API paths (`/stores/{hash}/…`).
        #[arg(long)]
        hash: String,
        #[arg(long, default_value = "My Store")]
        name: String,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// List stores.
    List {
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Set where a store's storefront is served: the domain that picks it from the
    /// `Host` header, and the origins allowed to call its Storefront API (CORS).
    Storefront {
        #[arg(long)]
        hash: String,
        /// Host name of the storefront (e.g. `shop.example.com`); omit to clear.
        #[arg(long)]
        domain: Option<String>,
        /// An allowed origin (`https://www.example.com`); repeat for several.
        #[arg(long = "origin")]
        origins: Vec<String>,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Set the offline payment methods the storefront checkout offers besides the card
    /// (`cheque`, `bankdeposit`, `cod`, `moneyorder`); none given turns them off.
    OfflinePayments {
        #[arg(long)]
        hash: String,
        /// A method id; repeat for several, in the order shoppers see them.
        #[arg(long = "method")]
        methods: Vec<String>,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Mint an API token for a store and print it (it is stored hashed and cannot be shown again).
    Create {
        #[arg(long)]
        store: String,
        /// Comma-separated BigCommerce scope names, or `all`.
        #[arg(long, default_value = "all")]
        scopes: String,
        #[arg(long, default_value = "cli")]
        label: String,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

async fn services(url: &str) -> anyhow::Result<Kassa> {
    let store = Store::connect(url)
        .await
        .with_context(|| format!("opening database {}", redact_url(url)))?;
    store.migrate().await.context("applying migrations")?;
    Ok(Kassa::new(
        store,
        Arc::new(kassa::clock::SystemClock),
        String::new(),
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    kassa::telemetry::init();
    let cli = Cli::parse();
    // `kassa` alone means `kassa serve` (flags then come from the environment).
    let command = match cli.command {
        Some(c) => c,
        None => Cli::parse_from(["kassa", "serve"])
            .command
            .ok_or_else(|| anyhow::anyhow!("no command"))?,
    };
    match command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(db) => {
            let k = services(&db.url).await?;
            println!(
                "migrations applied to {} ({})",
                redact_url(&db.url),
                k.store.backend()
            );
            Ok(())
        }
        Command::Store(StoreCommand::Create {
            hash,
            name,
            database,
        }) => {
            let k = services(&database.url).await?;
            let s = k
                .create_store(&hash, &name, Default::default())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("created store `{}` ({})", s.hash, s.name);
            Ok(())
        }
        Command::Store(StoreCommand::Storefront {
            hash,
            domain,
            origins,
            database,
        }) => {
            let k = services(&database.url).await?;
            let s = k
                .set_storefront(&hash, domain, origins)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "store `{}`: storefront domain {}, origins [{}]",
                s.hash,
                s.settings.storefront_domain.as_deref().unwrap_or("(none)"),
                s.settings.storefront_origins.join(", ")
            );
            Ok(())
        }
        Command::Store(StoreCommand::OfflinePayments {
            hash,
            methods,
            database,
        }) => {
            let k = services(&database.url).await?;
            let s = k
                .set_offline_payment_methods(&hash, methods)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "store `{}`: offline payment methods [{}]",
                s.hash,
                s.settings.offline_payment_methods.join(", ")
            );
            Ok(())
        }
        Command::Store(StoreCommand::List { database }) => {
            let k = services(&database.url).await?;
            for (hash, name) in k.store.list_stores().await? {
                println!("{hash}\t{name}");
            }
            Ok(())
        }
        Command::Token(TokenCommand::Create {
            store,
            scopes,
            label,
            database,
        }) => {
            let scopes = if scopes == "all" {
                Scopes::every()
            } else {
                Scopes::parse_list(&scopes).map_err(|e| anyhow::anyhow!(e))?
            };
            let k = services(&database.url).await?;
            let token = k
                .create_token(&store, &label, &scopes, None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let client_id = k
                .authenticate(&store, &token)
                .await
                .map(|who| who.client_id.to_string())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{token}");
            eprintln!(
                "token for store `{store}` with scopes {} (client id {client_id})",
                scopes.to_list()
            );
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut webhook_config = kassa::dispatcher::DispatcherConfig::from_env()?;
    if (args.demo || args.demo_token.is_some())
        && !kassa::dispatcher::DispatcherConfig::private_destinations_set()
    {
        // A demo is tried with a receiver on the developer's own machine.
        webhook_config.private_destinations = true;
    }
    let settings = Settings {
        listen: args.listen.clone(),
        database_url: args.database.url.clone(),
        public_url: args.public_url.clone(),
        tls: match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        },
        rate_limits: kassa::http::rate_limit::RateLimitConfig::from_env()?,
        request_timeout: None,
        // Hooks are refused when saved where the dispatcher would refuse to deliver.
        webhook_private_destinations: webhook_config.private_destinations,
    };
    let app = Application::build(&settings).await.with_context(|| {
        format!(
            "starting on {} with {}",
            args.listen,
            redact_url(&args.database.url)
        )
    })?;
    if args.demo || args.demo_token.is_some() {
        let demo = app
            .kassa
            .ensure_demo_store(args.demo_token.clone())
            .await
            .map_err(|e| anyhow::anyhow!("setting up the demo store: {e}"))?;
        if demo.created_store {
            tracing::info!("demo store `demo` created with its catalog");
        }
        if let Some(token) = demo.token {
            // Printed to stdout once, never logged.
            println!("Demo store `demo` API token (shown once): {token}");
        }
    }
    tracing::info!(
        listen = %app.local_addr(),
        database = %redact_url(&args.database.url),
        backend = app.kassa.store.backend(),
        "kassa is serving"
    );
    let sweeper = spawn_cart_sweeper(app.kassa.clone());
    let reservations = spawn_reservation_sweeper(app.kassa.clone());
    let webhooks = kassa::dispatcher::spawn_dispatcher(app.kassa.clone(), webhook_config)?;
    let abandoned = kassa::startup::spawn_abandoned_cart_sweeper(
        app.kassa.clone(),
        kassa::service::abandoned_carts::abandon_after_from_env()?,
    );
    let statistics = kassa::startup::spawn_statistics_keeper(app.kassa.clone());
    kassa::startup::release_startup_memory();
    // SAFETY: mi_collect takes no pointers; `true` returns every free page it can.
    unsafe { libmimalloc_sys::mi_collect(true) };
    app.run_until(shutdown_signal()).await?;
    sweeper.abort();
    reservations.abort();
    webhooks.abort();
    abandoned.abort();
    statistics.abort();
    tracing::info!("stopped");
    Ok(())
}
