//! The operator's tool, every command, against DynamoDB Local and moto's Cognito.

use afterhours_adapters::model::Channel;
use afterhours_admin::{Admin, AdminError, Cli, Directory, Done};
use afterhours_tests::{cognito, fresh_store, unique};
use clap::Parser;
use serde_json::json;

async fn operator() -> Admin {
    let directory = Directory::ensure_local_pool(cognito().await, &unique("pool"))
        .await
        .unwrap();
    Admin {
        store: fresh_store().await,
        directory: Some(directory),
    }
}

/// One command line, split at spaces.
async fn run(admin: &Admin, line: &str) -> Result<Done, AdminError> {
    run_args(admin, &line.split_whitespace().collect::<Vec<_>>()).await
}

async fn run_args(admin: &Admin, args: &[&str]) -> Result<Done, AdminError> {
    let cli = Cli::try_parse_from(std::iter::once("afterhours-admin").chain(args.iter().copied()))
        .unwrap();
    admin.run(&cli.command).await
}

fn directory(admin: &Admin) -> &Directory {
    admin.directory.as_ref().unwrap()
}

#[tokio::test]
async fn a_tenant_is_created_with_its_settings_and_first_admin() {
    let admin = operator().await;
    let done = run(&admin, "tenant create acme --admin-email ana@acme.example --language es_ES --timezone Europe/Madrid --name Ana")
    .await
    .unwrap();
    assert!(
        done.text.starts_with(
            "Created tenant acme (Europe/Madrid, es_ES) and its admin ana@acme.example"
        ),
        "{}",
        done.text
    );
    let settings = admin.store.get_settings("acme").await.unwrap().unwrap();
    assert_eq!(
        (settings["language"].as_str(), settings["timezone"].as_str()),
        (Some("es_ES"), Some("Europe/Madrid"))
    );
    assert_eq!(settings["activeMessageLimit"]["enabled"], false);
    let d = directory(&admin);
    assert_eq!(
        d.tenant_of("ana@acme.example").await.unwrap().as_deref(),
        Some("acme")
    );
    assert_eq!(d.groups_of("ana@acme.example").await.unwrap(), ["admin"]);
    assert_eq!(done.json["admin"]["role"], "admin");
    assert!(!done.json["admin"]["id"].as_str().unwrap().is_empty());

    // The same tenant again, or the same person for another tenant: refused, nothing written.
    let again = run(&admin, "tenant create acme --admin-email bo@acme.example").await;
    assert_eq!(
        again.unwrap_err(),
        AdminError::Refused(
            "Tenant acme already exists; add people with `afterhours-admin user invite`.".into()
        )
    );
    assert_eq!(d.tenant_of("bo@acme.example").await.unwrap(), None);
    let taken = run(
        &admin,
        "tenant create globex --admin-email ana@acme.example",
    )
    .await;
    assert_eq!(
        taken.unwrap_err(),
        AdminError::Refused(
            "A user with email ana@acme.example already exists (tenant acme); nothing was changed."
                .into()
        )
    );
    assert!(!admin.store.tenant_exists("globex").await.unwrap());
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_written() {
    let admin = operator().await;
    for (args, needle) in [
        (
            vec!["tenant", "create", "a#b", "--admin-email", "x@y.example"],
            "tenant",
        ),
        (
            vec!["tenant", "create", "ok", "--admin-email", "not-an-email"],
            "not an email",
        ),
        (
            vec![
                "tenant",
                "create",
                "ok",
                "--admin-email",
                "x@y.example",
                "--timezone",
                "Mars/Olympus",
            ],
            "--timezone",
        ),
        (
            vec![
                "tenant",
                "create",
                "ok",
                "--admin-email",
                "x@y.example",
                "--language",
                "fr_FR",
            ],
            "--language",
        ),
        (
            vec!["account", "grant", "ok", "12a"],
            "not a WhatsApp Business Account id",
        ),
        (
            vec!["account", "revoke", "ok", ""],
            "not a WhatsApp Business Account id",
        ),
        (
            vec!["user", "invite", "ok", "x y@z.example", "--role", "agent"],
            "not an email",
        ),
    ] {
        match run_args(&admin, &args).await {
            Err(AdminError::Invalid(m)) => assert!(m.contains(needle), "{args:?}: {m}"),
            other => panic!("{args:?}: {other:?}"),
        }
    }
    assert!(admin.store.tenants().await.unwrap().is_empty());
    assert_eq!(
        directory(&admin).tenant_of("x@y.example").await.unwrap(),
        None
    );
    // A role that is not one of the three does not even parse.
    assert!(Cli::try_parse_from([
        "afterhours-admin",
        "user",
        "invite",
        "ok",
        "x@y.example",
        "--role",
        "owner"
    ])
    .is_err());
    // Without a pool, user commands say what is missing.
    let no_pool = Admin {
        store: admin.store.clone(),
        directory: None,
    };
    match run(&no_pool, "user invite ok x@y.example --role agent").await {
        Err(AdminError::Invalid(m)) => assert!(m.contains("USER_POOL_ID"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn users_are_invited_into_existing_tenants_with_one_role() {
    let admin = operator().await;
    run(&admin, "tenant create acme --admin-email ana@acme.example")
        .await
        .unwrap();
    let done = run(
        &admin,
        "user invite acme bo@acme.example --role supervisor --name Bo",
    )
    .await
    .unwrap();
    assert!(
        done.text
            .starts_with("Invited bo@acme.example to tenant acme as supervisor"),
        "{}",
        done.text
    );
    let d = directory(&admin);
    assert_eq!(
        d.groups_of("bo@acme.example").await.unwrap(),
        ["supervisor"]
    );
    assert_eq!(
        d.tenant_of("bo@acme.example").await.unwrap().as_deref(),
        Some("acme")
    );
    let unknown = run(&admin, "user invite nobody cy@acme.example --role agent").await;
    assert_eq!(
        unknown.unwrap_err(),
        AdminError::Refused(
            "Tenant nobody does not exist; create it with `afterhours-admin tenant create`.".into()
        )
    );
    assert_eq!(d.tenant_of("cy@acme.example").await.unwrap(), None);
    let twice = run(&admin, "user invite acme bo@acme.example --role agent").await;
    assert!(matches!(twice, Err(AdminError::Refused(m)) if m.contains("already exists")));
    assert_eq!(
        d.groups_of("bo@acme.example").await.unwrap(),
        ["supervisor"]
    );
}

#[tokio::test]
async fn accounts_are_granted_to_one_tenant_listed_and_revoked() {
    let admin = operator().await;
    run(&admin, "tenant create acme --admin-email ana@acme.example")
        .await
        .unwrap();
    run(
        &admin,
        "tenant create globex --admin-email gus@globex.example",
    )
    .await
    .unwrap();
    let done = run(&admin, "account grant acme 123456").await.unwrap();
    assert_eq!(
        done.json,
        json!({"tenant": "acme", "wabaId": "123456", "granted": true, "changed": true})
    );
    let again = run(&admin, "account grant acme 123456").await.unwrap();
    assert_eq!(again.json["changed"], false);
    assert_eq!(
        admin
            .store
            .account_grantee("123456")
            .await
            .unwrap()
            .as_deref(),
        Some("acme")
    );
    // Another tenant cannot be granted it, nor revoke it.
    let taken = run(&admin, "account grant globex 123456").await;
    assert_eq!(
        taken.unwrap_err(),
        AdminError::Refused("WhatsApp Business Account 123456 is granted to another tenant (acme); revoke it there first.".into())
    );
    assert!(matches!(
        run(&admin, "account revoke globex 123456").await,
        Err(AdminError::Refused(_))
    ));
    assert!(
        matches!(run(&admin, "account grant nobody 9").await, Err(AdminError::Refused(m)) if m.contains("does not exist"))
    );

    // A number bound under the account shows in the listings.
    let channel = Channel {
        phone_number_id: "555001".into(),
        tenant_id: "acme".into(),
        waba_id: "123456".into(),
        display_phone_number: "+1 555 0001".into(),
        default_agent_id: "a-1".into(),
    };
    admin.store.put_channel(&channel).await.unwrap();
    let listed = run(&admin, "channel list acme").await.unwrap();
    assert_eq!(listed.json["accounts"], json!(["123456"]));
    assert_eq!(listed.json["channels"][0]["phoneNumberId"], "555001");
    assert!(
        listed.text.contains("555001\t123456\t+1 555 0001\ta-1"),
        "{}",
        listed.text
    );
    let tenants = run(&admin, "tenant list").await.unwrap();
    assert_eq!(
        tenants.json,
        json!({"tenants": [{"tenant": "acme", "accounts": ["123456"]}, {"tenant": "globex", "accounts": []}]})
    );

    // Revoked: the grant and the binding go; the account can go to another tenant.
    let revoked = run(&admin, "account revoke acme 123456").await.unwrap();
    assert_eq!(
        revoked.text,
        "Revoked WhatsApp Business Account 123456 from tenant acme; unbound 555001."
    );
    assert_eq!(admin.store.get_channel("555001").await.unwrap(), None);
    assert_eq!(admin.store.account_grantee("123456").await.unwrap(), None);
    assert!(matches!(
        admin.store.put_channel(&channel).await,
        Err(afterhours_adapters::store::StoreError::NotGranted(_))
    ));
    let listed = run(&admin, "channel list acme").await.unwrap();
    assert_eq!(
        (
            listed.json["accounts"].clone(),
            listed.json["channels"].clone()
        ),
        (json!([]), json!([]))
    );
    run(&admin, "account grant globex 123456").await.unwrap();
    assert_eq!(
        admin
            .store
            .account_grantee("123456")
            .await
            .unwrap()
            .as_deref(),
        Some("globex")
    );
}

#[tokio::test]
async fn concurrent_grants_of_one_account_leave_it_with_exactly_one_tenant() {
    let store = fresh_store().await;
    let tenants: Vec<String> = (0..8).map(|i| format!("t{i}")).collect();
    let results =
        futures::future::join_all(tenants.iter().map(|t| store.grant_account(t, "777"))).await;
    let won: Vec<&String> = tenants
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_ok())
        .map(|(t, _)| t)
        .collect();
    assert_eq!(won.len(), 1, "{results:?}");
    assert!(results.iter().all(|r| r.is_ok()
        || matches!(r, Err(afterhours_adapters::store::StoreError::AccountTaken(w)) if w == "777")));
    assert_eq!(
        store.account_grantee("777").await.unwrap().as_ref(),
        Some(won[0])
    );
    for t in &tenants {
        let listed = store.tenant_wabas(t).await.unwrap();
        assert_eq!(listed.len(), usize::from(t == won[0]), "{t}");
    }
}
