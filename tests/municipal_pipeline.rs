//! Issue 15 end to end: a regional office's folder with a workbook by municipal formation, read
//! with the OKTMO classifier the config loads and the subject its source names. The figures land
//! on the subject's code with their formation's series; `municipality` and
//! `observation_municipal` give their names; an unknown district is a problem naming its cell.

mod common;

use regstat::demo::{DemoDocument, DemoServer};
use rust_xlsxwriter::Workbook;

/// Lines of the printed classifier's volume 3 (Республика Адыгея), with their real check digits.
const CLASSIFIER: &str = "79 000 000    ;3;Муниципальные образования Республики Адыгеи (Адыгеи);\n\
79 600 000    ;0;Муниципальные районы Республики Адыгеи (Адыгеи);\n\
79 605 000    ;2;Гиагинский муниципальный район;ст-ца Гиагинская\n\
79 605 400    ;4;Сельские поселения Гиагинского муниципального района/;\n\
79 605 402    ;9;- Айрюмовское;п Новый\n\
79 700 000    ;2;Городские округа Республики Адыгеи (Адыгеи)/;\n\
79 701 000    ;7;- город Майкоп;г Майкоп\n";

fn municipal_workbook() -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("январь-декабрь 2024 г.").unwrap();
    ws.write_string(
        0,
        0,
        "Оборот розничной торговли по муниципальным образованиям",
    )
    .unwrap();
    ws.write_string(1, 0, "(миллионов рублей)").unwrap();
    ws.write_number(2, 1, 2023.0).unwrap();
    ws.write_number(2, 2, 2024.0).unwrap();
    for (r, (label, value)) in [
        ("Республика Адыгея", 150_000.0),
        ("Гиагинский район - всего", 4_000.0),
        ("Айрюмовское сельское поселение", 120.0),
        ("г. Майкоп", 90_000.0),
        ("Неведомский район", 1.0),
    ]
    .into_iter()
    .enumerate()
    {
        let r = 3 + r as u32;
        ws.write_string(r, 0, label).unwrap();
        ws.write_number(r, 1, value).unwrap();
        ws.write_number(r, 2, value * 1.1).unwrap();
    }
    wb.save_to_buffer().unwrap()
}

fn config(base_url: &str, dir: &std::path::Path, subject: &str) -> String {
    format!(
        r#"
{outputs}
[municipalities]
classifier = ["oktmo/tom3_oktmo_1.csv"]

[[indicators]]
id = "retail_by_formation"
name = "Оборот розничной торговли"
unit = "миллионов рублей"
title_all = ["оборот розничной торговли"]

[[clusters]]
id = "giaginsky"
name = "Гиагинский кластер"
level = "municipality"
treated = ["79605000"]
control = ["79701000", "79605402"]
treatment_start = 2024
indicators = ["retail_by_formation"]

[[sources]]
id = "adygeastat"
kind = "document_list"
url = "{base_url}/folder/regions-of-russia-2023"

[sources.parser]
subject = "{subject}"
"#,
        outputs = common::outputs_in(dir)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_municipal_workbook_lands_on_its_formations() {
    let server = DemoServer::start(vec![DemoDocument {
        name: "Оборот по МО.xlsx".into(),
        bytes: municipal_workbook(),
        listed: true,
    }])
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("oktmo")).unwrap();
    std::fs::write(dir.path().join("oktmo/tom3_oktmo_1.csv"), CLASSIFIER).unwrap();
    let config_path = dir.path().join("regstat.toml");
    std::fs::write(
        &config_path,
        config(&server.base_url(), dir.path(), "79000000000"),
    )
    .unwrap();

    // The unknown district makes the run report a problem; everything else loads.
    let config_arg = config_path.to_string_lossy().into_owned();
    let out =
        tokio::task::spawn_blocking(move || common::regstat(&["run", "--config", &config_arg]))
            .await
            .unwrap();
    assert!(
        out.stdout.contains("observations loaded: 8")
            && out.stdout.contains("cell A8: expected a region name known to the dictionary, or a municipal formation of Республика Адыгея (Адыгея) in the OKTMO classifier, found \"Неведомский район\""),
        "{}{}",
        out.stdout,
        out.stderr
    );
    let conn = duckdb::Connection::open(dir.path().join("warehouse.duckdb")).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM municipality"), 3);
    assert_eq!(
        count("SELECT count(*) FROM municipality WHERE region_code = '79000000000'"),
        3
    );
    // The subject's own row and three formations, two years each.
    assert_eq!(count("SELECT count(*) FROM observation"), 8);
    assert_eq!(count("SELECT count(*) FROM observation_municipal"), 6);
    let (name, kind, value, cell): (String, String, f64, String) = conn
        .query_row(
            "SELECT municipality_name, municipality_kind, value, cell FROM observation_municipal
             WHERE municipality_series = '79605000' AND period = '2023'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(
        (name.as_str(), kind.as_str(), value, cell.as_str()),
        (
            "Гиагинский муниципальный район",
            "municipal_district",
            4000.0,
            "B5"
        )
    );
    assert_eq!(
        count("SELECT count(*) FROM observation_municipal WHERE municipality_series = '79701000' AND region_label = 'г. Майкоп'"),
        2
    );
    // The regional panel is not mixed with the municipal figures.
    assert_eq!(
        count("SELECT count(*) FROM observation WHERE dimensions IS NULL AND region_code = '79000000000'"),
        2
    );
    // The municipal cluster is estimated on its formations' figures: its panel's units are the
    // formations, named in the published panel.
    assert_eq!(
        count("SELECT count(DISTINCT unit) FROM estimate_panel WHERE cluster_id = 'giaginsky'"),
        3
    );
    assert_eq!(
        count("SELECT count(*) FROM estimate WHERE cluster_id = 'giaginsky' AND method = 'did2x2' AND term = 'treated_x_post' AND estimate IS NOT NULL"),
        1
    );
    let panels = std::fs::read_to_string(dir.path().join("publish/latest/panels.csv")).unwrap();
    assert!(
        panels.contains("Гиагинский муниципальный район") && panels.contains("город Майкоп"),
        "{panels}"
    );
    // The unknown district: a problem naming its cell.
    assert_eq!(
        count(
            "SELECT count(*) FROM document_problem WHERE cell = 'A8' AND found LIKE 'Неведомский%'"
        ),
        1
    );
    server.stop().await;
}

#[test]
fn a_subject_the_classifier_does_not_cover_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("oktmo")).unwrap();
    std::fs::write(dir.path().join("oktmo/tom3_oktmo_1.csv"), CLASSIFIER).unwrap();
    let path = dir.path().join("regstat.toml");
    std::fs::write(
        &path,
        config("http://127.0.0.1:9", dir.path(), "42000000000"),
    )
    .unwrap();
    let err = format!(
        "{:#}",
        regstat_config::Config::load(&path).expect_err("Lipetsk has no formation in volume 3")
    );
    assert!(
        err.contains("sources[0].parser.subject") && err.contains("OKTMO 42"),
        "{err}"
    );
    // A damaged classifier line is refused with its file and line.
    std::fs::write(
        dir.path().join("oktmo/tom3_oktmo_1.csv"),
        CLASSIFIER.replace(";2;Гиагинский", ";3;Гиагинский"),
    )
    .unwrap();
    std::fs::write(
        &path,
        config("http://127.0.0.1:9", dir.path(), "79000000000"),
    )
    .unwrap();
    let err = format!("{:#}", regstat_config::Config::load(&path).unwrap_err());
    assert!(
        err.contains("municipalities.classifier[0]")
            && err.contains("tom3_oktmo_1.csv, line 3")
            && err.contains("check digit"),
        "{err}"
    );
}

#[test]
fn a_municipal_cluster_names_formations_of_the_classifier() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("oktmo")).unwrap();
    std::fs::write(dir.path().join("oktmo/tom3_oktmo_1.csv"), CLASSIFIER).unwrap();
    let path = dir.path().join("regstat.toml");
    let text = config("http://127.0.0.1:9", dir.path(), "79000000000").replace(
        r#"control = ["79701000", "79605402"]"#,
        r#"control = ["79701000", "42701000"]"#,
    );
    std::fs::write(&path, text).unwrap();
    let err = format!("{:#}", regstat_config::Config::load(&path).unwrap_err());
    assert!(
        err.contains("clusters[0].control[1]")
            && err.contains("no municipal formation with OKTMO code \"42701000\""),
        "{err}"
    );
}
