use super::*;

fn argv(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

fn render(s: &str) -> RenderArgs {
    match parse(&argv(s)) {
        Ok(Command::Render(r)) => r,
        other => panic!("{s}: {other:?}"),
    }
}

fn envoy(s: &str) -> EnvoyArgs {
    match render(s).target {
        Target::Envoy(e) => e,
        other => panic!("{s}: {other:?}"),
    }
}

fn k8s(s: &str) -> K8sArgs {
    match render(s).target {
        Target::K8s(k) => k,
        other => panic!("{s}: {other:?}"),
    }
}

fn istio(s: &str) -> IstioArgs {
    match render(s).target {
        Target::Istio(i) => i,
        other => panic!("{s}: {other:?}"),
    }
}

#[test]
fn validate_with_and_without_no_env() {
    assert_eq!(
        parse(&argv("validate c.yaml")).unwrap(),
        Command::Validate {
            config: "c.yaml".into(),
            no_env: false
        }
    );
    assert_eq!(
        parse(&argv("validate --no-env c.yaml")).unwrap(),
        Command::Validate {
            config: "c.yaml".into(),
            no_env: true
        }
    );
    assert!(parse(&argv("validate")).is_err());
    assert!(parse(&argv("validate a b")).is_err());
    assert!(parse(&argv("validate --bogus a")).is_err());
    assert!(parse(&argv("validate --no-env=1 a")).is_err());
}

#[test]
fn render_defaults_and_options() {
    let r = envoy("render c.yaml --port 10000");
    assert_eq!(r.port, 10000);
    assert_eq!(r.admin_port, 9901);
    assert_eq!(r.listen.to_string(), "0.0.0.0");
    assert_eq!(r.admin_listen.to_string(), "127.0.0.1");
    assert_eq!(r.wasm, None);
    assert_eq!(r.access_log, "/dev/stdout");
    assert_eq!(render("render c.yaml --port 1").output, None);

    let full = render(
        "render --port=8080 --admin-port 0 --listen :: --admin-listen=::1 --wasm f.wasm -o out.yaml c.yaml",
    );
    assert_eq!(full.output, Some("out.yaml".into()));
    assert_eq!(full.config, PathBuf::from("c.yaml"));
    let Target::Envoy(r) = full.target else {
        unreachable!()
    };
    assert_eq!(r.port, 8080);
    assert_eq!(r.admin_port, 0);
    assert_eq!(r.listen.to_string(), "::");
    assert_eq!(r.admin_listen.to_string(), "::1");
    assert_eq!(r.wasm, Some("f.wasm".into()));
    // --target envoy is the default, and may be said.
    assert_eq!(envoy("render c.yaml --target envoy --port 5").port, 5);
}

#[test]
fn render_errors() {
    for (args, want) in [
        ("render c.yaml", "--port"),
        ("render c.yaml --port", "needs a value"),
        ("render c.yaml --port 0", "not a usable"),
        ("render c.yaml --port 70000", "not a port"),
        ("render c.yaml --port 1 --listen localhost", "not an IP"),
        ("render --port 1", "missing CONFIG"),
        ("render c.yaml --port 1 --nope", "unknown option"),
        ("render c.yaml --port 1 --target docker", "unknown target"),
        (
            "render c.yaml --port 1 --namespace x",
            "--namespace does not apply to --target envoy",
        ),
    ] {
        let err = parse(&argv(args)).unwrap_err();
        assert!(err.contains(want), "{args}: {err}");
    }
}

#[test]
fn k8s_defaults() {
    let k = k8s("render c.yaml --target k8s");
    assert_eq!(k.namespace, "tollgate");
    assert_eq!(k.name, "tollgate");
    assert_eq!(k.port, 4000);
    assert_eq!(k.envoy_image, "envoyproxy/envoy:v1.40-latest");
    assert_eq!(
        k.wasm_image,
        format!("tollgate/filter-wasm:{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!((k.replicas, k.max_replicas), (2, 10));
    assert_eq!(k.drain_seconds, 20);
    assert_eq!(k.secret_template, None);
}

#[test]
fn k8s_options() {
    let k = k8s(
        "render c.yaml --target=k8s --namespace llm --name gw-1 --port 8080 --envoy-image e:1 \
         --wasm-image w:2 --replicas 12 --drain-seconds 60 --secret-template s.yaml -o out.yaml",
    );
    assert_eq!(k.namespace, "llm");
    assert_eq!(k.name, "gw-1");
    assert_eq!(k.port, 8080);
    assert_eq!(k.envoy_image, "e:1");
    assert_eq!(k.wasm_image, "w:2");
    // The HPA maximum follows a larger minimum.
    assert_eq!((k.replicas, k.max_replicas), (12, 12));
    assert_eq!(k.drain_seconds, 60);
    assert_eq!(k.secret_template, Some("s.yaml".into()));
    assert_eq!(
        k8s("render c.yaml --target k8s --replicas 1 --max-replicas 3").max_replicas,
        3
    );
}

#[test]
fn k8s_errors() {
    for (args, want) in [
        ("--port 80", "cannot bind ports below 1024"),
        ("--name Tollgate", "lowercase"),
        ("--name 1gw", "starting with a letter"),
        ("--name gw-", "lowercase"),
        ("--namespace a_b", "lowercase"),
        ("--replicas 0", "whole number from 1"),
        ("--replicas 3 --max-replicas 2", "below --replicas 3"),
        ("--drain-seconds -1", "whole number"),
        ("--wasm f.wasm", "--wasm does not apply to --target k8s"),
        ("--admin-port 1", "does not apply"),
        ("--wasm-url oci://x", "does not apply"),
    ] {
        let line = format!("render c.yaml --target k8s {args}");
        let err = parse(&argv(&line)).unwrap_err();
        assert!(err.contains(want), "{args}: {err}");
    }
    let long = "a".repeat(MAX_NAME_FOR_TEST + 1);
    let err = parse(&argv(&format!("render c.yaml --target k8s --name {long}"))).unwrap_err();
    assert!(err.contains("must be 1-40"), "{err}");
}

const MAX_NAME_FOR_TEST: usize = deploy::MAX_NAME;

#[test]
fn istio_defaults_and_options() {
    let i = istio("render c.yaml --target istio");
    assert_eq!(i.namespace, "istio-system");
    assert_eq!(i.name, "tollgate");
    assert_eq!(
        i.wasm_url,
        format!(
            "oci://tollgate/filter-wasm-plugin:{}",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert_eq!(i.selector, [("istio".into(), "ingressgateway".into())]);
    assert_eq!(i.plugin, IstioPlugin::EnvoyFilter);

    let i = istio(
        "render c.yaml --target istio --namespace gw --name llm --wasm-url https://x/f.wasm \
         --selector app=gw,istio.io/rev=canary --plugin wasmplugin --secret-template s.yaml",
    );
    assert_eq!(i.namespace, "gw");
    assert_eq!(i.name, "llm");
    assert_eq!(i.wasm_url, "https://x/f.wasm");
    assert_eq!(
        i.selector,
        [
            ("app".into(), "gw".into()),
            ("istio.io/rev".into(), "canary".into())
        ]
    );
    assert_eq!(i.plugin, IstioPlugin::WasmPlugin);
    assert_eq!(i.secret_template, Some("s.yaml".into()));
}

#[test]
fn istio_errors() {
    for (args, want) in [
        ("--wasm-url ftp://x", "must start with oci://"),
        ("--selector app", "is not KEY=VALUE"),
        ("--selector app=*", "not a valid label"),
        ("--selector a=1,a=2", "given twice"),
        ("--plugin lua", "not envoyfilter or wasmplugin"),
        ("--port 4000", "--port does not apply to --target istio"),
        ("--replicas 2", "does not apply"),
    ] {
        let line = format!("render c.yaml --target istio {args}");
        let err = parse(&argv(&line)).unwrap_err();
        assert!(err.contains(want), "{args}: {err}");
    }
}

#[test]
fn help_version_unknown() {
    assert_eq!(parse(&argv("--help")).unwrap(), Command::Help);
    assert_eq!(parse(&argv("--version")).unwrap(), Command::Version);
    assert!(parse(&argv("frobnicate")).is_err());
    assert!(parse(&[]).is_err());
}
