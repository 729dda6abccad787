use super::*;

const GOOD: &str = r#"
[outputs]
warehouse = "data/warehouse.duckdb"
archive = "data/archive"
publish = "data/publish"

[[sources]]
id = "investment"
kind = "workbook"
url = "https://rosstat.gov.ru/storage/mediabank/invest.xlsx"
schedule = "0 6 * * Mon"

[[indicators]]
id = "investment_per_capita"
name = "Инвестиции в основной капитал на душу населения"
unit = "рублей"
rosstat_tables = ["10.2"]

[[clusters]]
id = "lipetsk"
name = "Долина машиностроения"
treated = ["42000000000"]
treatment_start = 2012
indicators = ["investment_per_capita"]
control = ["14000000000", "20000000000"]
"#;

#[test]
fn a_good_config_parses() {
    let c = Config::parse(GOOD).expect("valid");
    assert!(matches!(c.sources[0].kind, SourceKind::Workbook));
    let schedule = c.sources[0].schedule.as_ref().expect("a schedule");
    assert_eq!(schedule.expression(), "0 6 * * Mon");
    assert_eq!(c.sources[0].url.host_str(), Some("rosstat.gov.ru"));
    assert_eq!(c.daemon.timezone.name(), "Europe/Moscow");
    assert_eq!(
        c.daemon.metrics_addr,
        Some("127.0.0.1:9184".parse().unwrap())
    );
    assert_eq!(
        c.indicator_for_table("10.2.").unwrap().id,
        "investment_per_capita"
    );
    assert!(c.clusters[0].log_outcome);
}

#[test]
fn every_semantic_error_is_named_with_key_and_line() {
    let bad = GOOD
        .replace("0 6 * * Mon", "every monday")
        .replace("\"20000000000\"]", "\"99999\"]")
        .replace(
            "indicators = [\"investment_per_capita\"]",
            "indicators = [\"gdp\"]",
        );
    let issues = Config::parse(&bad).unwrap_err();
    let find = |key: &str| {
        issues
            .iter()
            .find(|i| i.key == key)
            .unwrap_or_else(|| panic!("no issue for {key}: {issues:?}"))
    };
    assert_eq!(find("sources[0].schedule").line, Some(11));
    assert!(find("sources[0].schedule").message.contains("every monday"));
    assert_eq!(find("clusters[0].control[1]").line, Some(25));
    assert!(find("clusters[0].control[1]").message.contains("99999"));
    assert_eq!(find("clusters[0].indicators[0]").line, Some(24));
    assert_eq!(issues.len(), 3, "{issues:?}");
}

#[test]
fn syntax_and_type_errors_carry_their_line() {
    let bad = GOOD.replace("treatment_start = 2012", "treatment_start = \"2012\"");
    let issues = Config::parse(&bad).unwrap_err();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].line, Some(23), "{issues:?}");
    assert_eq!(issues[0].key, "clusters[0].treatment_start");
    let unknown = GOOD.replace("kind = \"workbook\"", "kind = \"ftp\"");
    let issues = Config::parse(&unknown).unwrap_err();
    assert_eq!(issues[0].line, Some(9), "{issues:?}");
    assert!(issues[0].message.contains("ftp"), "{issues:?}");
}

#[test]
fn the_shipped_example_config_is_valid() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/lipetsk.toml");
    let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(config
        .sources
        .iter()
        .any(|s| matches!(s.kind, SourceKind::Emiss(_))));
    assert!(config
        .sources
        .iter()
        .any(|s| matches!(s.kind, SourceKind::DocumentList(_))));
    assert_eq!(config.daemon.catch_up, CatchUp::RunOnce);
    assert!(
        config.outputs.warehouse.is_absolute(),
        "relative outputs resolve against the file"
    );
}

#[test]
fn a_bad_link_selector_is_caught_by_config_check() {
    let text = GOOD.replace(
        "kind = \"workbook\"",
        "kind = \"document_list\"\nlink_selector = \"div.item > a[href\"",
    );
    let issues = Config::parse(&text).unwrap_err();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].key, "sources[0].link_selector");
    assert_eq!(issues[0].line, Some(10));
    let text = GOOD.replace(
        "kind = \"workbook\"",
        "kind = \"document_list\"\nlink_selector = \"div >> a\"",
    );
    let issues = Config::parse(&text).unwrap_err();
    assert!(
        issues[0].message.contains("not a CSS selector"),
        "{issues:?}"
    );
}

#[test]
fn clusters_may_name_catalogue_indicators() {
    let text = GOOD.replace(
        r#"indicators = ["investment_per_capita"]"#,
        r#"indicators = ["investment_per_capita", "grp_per_capita"]"#,
    );
    assert!(Config::parse(&text).is_ok());
    let text = GOOD.replace(
        r#"indicators = ["investment_per_capita"]"#,
        r#"indicators = ["no_such_series"]"#,
    );
    let issues = Config::parse(&text).unwrap_err();
    assert!(
        issues.iter().any(|i| i
            .to_string()
            .contains("no indicator with id \"no_such_series\"")),
        "{issues:?}"
    );
}

#[test]
fn region_aliases_teach_spellings_and_bad_ones_are_named() {
    let text =
        format!("{GOOD}\n[regions]\naliases = {{ \"Липецкая обл-ть\" = \"42000000000\" }}\n");
    let config = Config::parse(&text).expect("valid");
    assert!(matches!(
        config.regions().resolve("Липецкая обл-ть1)"),
        Some(regstat_transform::Resolution::Region(e)) if e.code == "42000000000"
    ));
    for (aliases, expected) in [
        (
            r#"{ "Липецкая область" = "14000000000" }"#,
            "already names 42000000000",
        ),
        (r#"{ "Нечто" = "99" }"#, "no region with code \"99\""),
        // Two spellings that fold to one label, for two regions.
        (
            r#"{ "Край Х" = "14000000000", "край  х" = "15000000000" }"#,
            "already names 14000000000",
        ),
    ] {
        let text = format!("{GOOD}\n[regions]\naliases = {aliases}\n");
        let issues = Config::parse(&text).unwrap_err();
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].key, "regions.aliases");
        assert_eq!(issues[0].line, Some(28), "{issues:?}");
        assert!(issues[0].message.contains(expected), "{issues:?}");
    }
}

/// Issue 11: per-region adoption years, a headline override and `[estimation]` are validated, each
/// error naming its key.
#[test]
fn design_settings_are_validated() {
    let good = format!(
        "{GOOD}adoption = {{ \"42000000000\" = 2014 }}\nheadline = \"sc\"\n\n[estimation]\nplacebo_reps = 500\nevent_window = [-3, 4]\n"
    );
    let c = Config::parse(&good).expect("valid");
    assert_eq!(c.clusters[0].adoption_year("42000000000"), 2014);
    assert_eq!(c.clusters[0].headline.as_deref(), Some("sc"));
    assert_eq!(
        (c.estimation.placebo_reps, c.estimation.bootstrap_reps),
        (500, 9999)
    );
    let defaults = Config::parse(GOOD).unwrap();
    assert_eq!(defaults.estimation.event_window, [-5, 5]);

    let bad = format!(
        "{GOOD}adoption = {{ \"14000000000\" = 2014 }}\nheadline = \"synthetic\"\n\n[estimation]\nevent_window = [0, 4]\nbootstrap_reps = 5\n"
    );
    let issues = Config::parse(&bad).unwrap_err();
    let find = |key: &str| {
        issues
            .iter()
            .find(|i| i.key == key)
            .unwrap_or_else(|| panic!("no issue for {key}: {issues:?}"))
    };
    assert!(find("clusters[0].adoption.14000000000")
        .message
        .contains("not among the cluster's treated regions"));
    assert!(find("clusters[0].headline").message.contains("sdid"));
    assert!(find("estimation.event_window").message.contains("LO < -1"));
    assert!(find("estimation.bootstrap_reps").message.contains("99 to"));
}

/// A cluster may name the category of an indicator split by category; a key that is not one of
/// its indicators, or an empty selection, is an error naming the key.
#[test]
fn cluster_dimensions_name_the_cluster_s_indicators() {
    let good = Config::parse(GOOD).unwrap();
    let indicator = good.clusters[0].indicators[0].clone();
    let text =
        format!("{GOOD}\n[clusters.dimensions]\n{indicator} = {{ category = \"пенсии\" }}\n");
    let c = Config::parse(&text).expect("valid");
    assert_eq!(c.clusters[0].dimensions[&indicator]["category"], "пенсии");
    let text = format!(
        "{GOOD}\n[clusters.dimensions]\nelsewhere = {{ category = \"x\" }}\n{indicator} = {{}}\n"
    );
    let issues = Config::parse(&text).unwrap_err();
    assert!(issues
        .iter()
        .any(|i| i.key == "clusters[0].dimensions.elsewhere" && i.message.contains("not among")), "{issues:?}");
    assert!(
        issues
            .iter()
            .any(|i| i.key == format!("clusters[0].dimensions.{indicator}")
                && i.message.contains("at least one")),
        "{issues:?}"
    );
}

/// Issue 13: a type error names its key, not only its table.
#[test]
fn a_type_error_names_its_key() {
    let text = GOOD.replace("[[sources]]", "[http]\nretries = \"four\"\n\n[[sources]]");
    let issues = Config::parse(&text).unwrap_err();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].key, "http.retries", "{}", issues[0]);
    assert_eq!(issues[0].line, Some(8));
}

/// Issue 13: a source's options belong to its kind: an `emiss` block on a workbook source, or a
/// link selector on an EMISS source, is an error, not silently ignored.
#[test]
fn options_of_another_kind_are_errors() {
    let text = GOOD.replace(
        "schedule = \"0 6 * * Mon\"",
        "schedule = \"0 6 * * Mon\"\nlink_selector = \"a\"\nemiss = { from_year = 2000 }",
    );
    let issues = Config::parse(&text).unwrap_err();
    let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(
        keys,
        ["sources[0].link_selector", "sources[0].emiss"],
        "{issues:?}"
    );
    assert!(issues[0].message.contains("document_list"), "{}", issues[0]);
    assert!(issues[1].message.contains("emiss"), "{}", issues[1]);
}

/// Issue 13: every error at once, in line order, a cron error on one line.
#[test]
fn all_errors_in_line_order_each_on_one_line() {
    let text = GOOD
        .replace("schedule = \"0 6 * * Mon\"", "schedule = \"every day\"")
        .replace(
            "url = \"https://rosstat.gov.ru",
            "url = \"ftp://rosstat.gov.ru",
        )
        .replace(
            "treatment_start = 2012",
            "treatment_start = 2012\npre_years = [2015]",
        );
    let issues = Config::parse(&text).unwrap_err();
    let lines: Vec<usize> = issues.iter().filter_map(|i| i.line).collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "{issues:?}");
    assert!(issues.len() >= 3, "{issues:?}");
    assert!(
        issues.iter().all(|i| !i.to_string().contains('\n')),
        "{issues:?}"
    );
}

/// Issue 13: a missing file's OS error is said once.
#[test]
fn a_missing_file_says_its_os_error_once() {
    let e = Config::load(std::path::Path::new("/nonexistent/regstat.toml")).unwrap_err();
    let chain = anyhow::Error::from(e);
    let text = format!("{chain:#}");
    assert_eq!(text.matches("No such file").count(), 1, "{text}");
}

/// Issue 13: `schedule` is optional: a source without one runs only by hand, and has no next run.
#[test]
fn a_source_without_a_schedule_runs_by_hand_only() {
    let text = GOOD.replace("schedule = \"0 6 * * Mon\"\n", "");
    let c = Config::parse(&text).expect("valid without a schedule");
    assert!(c.sources[0].schedule.is_none());
}

/// Issue 13: the config is typed once at load: schedules, URLs, time zones, addresses and selectors
/// are parsed values, each kind carries only its own options, and a bad value of each is named.
#[test]
fn values_are_typed_at_load() {
    let text = GOOD.replace(
        "kind = \"workbook\"",
        "kind = \"document_list\"\nextensions = [\".xlsx\"]",
    ) + "\n[daemon]\ntimezone = \"Asia/Yekaterinburg\"\nmetrics_addr = \"\"\n\n[http]\nproxy = \"http://proxy.local:3128\"\n";
    let c = Config::parse(&text).expect("valid");
    let SourceKind::DocumentList(list) = &c.sources[0].kind else {
        panic!("a document list: {:?}", c.sources[0].kind)
    };
    assert_eq!(list.link_selector.as_str(), DEFAULT_LINK_SELECTOR);
    assert_eq!(list.extensions, [".xlsx"]);
    assert_eq!(c.daemon.timezone.name(), "Asia/Yekaterinburg");
    assert_eq!(c.daemon.metrics_addr, None, "empty disables the endpoint");
    assert_eq!(
        c.http.proxy.as_ref().map(|u| u.as_str()),
        Some("http://proxy.local:3128/")
    );

    let bad =
        GOOD.to_string() + "\n[daemon]\ntimezone = \"Moscow\"\nmetrics_addr = \"localhost\"\n";
    let issues = Config::parse(&bad).unwrap_err();
    let keys: Vec<&str> = issues.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(
        keys,
        ["daemon.timezone", "daemon.metrics_addr"],
        "{issues:?}"
    );
    assert_eq!(issues[0].line, Some(28), "{issues:?}");

    let bad_proxy = GOOD.to_string() + "\n[http]\nproxy = \"proxy.local:3128\"\n";
    let issues = Config::parse(&bad_proxy).unwrap_err();
    assert_eq!(issues[0].key, "http.proxy", "{issues:?}");
    assert!(
        issues[0].message.contains("not a URL with scheme"),
        "{issues:?}"
    );
}
