//! The SDMX reader on EMISS's real response and on generated streams.

use std::path::PathBuf;

use regstat_transform::{read_sdmx, Period, RegionDictionary, Status};

#[test]
fn the_real_emiss_response_yields_all_22_observations_with_codes() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus/fedstat/sdmx_example.xml");
    let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
    let mut obs = Vec::new();
    let summary = read_sdmx("sdmx_example.xml", file, RegionDictionary::builtin(), |o| {
        obs.push(o);
        Ok(())
    })
    .unwrap();
    assert!(summary.problems.is_empty(), "{:?}", summary.problems);
    assert_eq!(summary.observations, 22);
    assert_eq!(obs.len(), 22);
    assert_eq!(summary.indicator_id.as_deref(), Some("33459"));
    assert_eq!(summary.dataset_id.as_deref(), Some("2409025"));
    let first = &obs[0];
    assert_eq!(&*first.indicator, "emiss:33459");
    assert_eq!(first.region_code, "643");
    assert_eq!(&*first.region_label, "Российская Федерация");
    assert_eq!(
        first.period,
        Period::Date(chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap())
    );
    assert_eq!(first.value, Some(78549601.0));
    assert_eq!(&*first.unit, "человек");
    assert_eq!(first.status, Status::Ok);
    assert_eq!(
        first.dimensions,
        [
            ("s_vozr".to_string(), "Всего".to_string()),
            ("s_mest".to_string(), "все население".to_string())
        ]
    );
    assert_eq!(first.provenance.cell, "Series 1 Obs 1");
    assert!(first
        .provenance
        .table_title
        .starts_with("Численность постоянного населения - женщин"));
}

fn series(region: &str, value: &str) -> String {
    format!(
        r#"<generic:Series><generic:SeriesKey><generic:Value concept="s_reg" value="{region}"/><generic:Value concept="s_pol" value="1"/></generic:SeriesKey>
<generic:Attributes><generic:Value concept="EI" value="процент"/><generic:Value concept="PERIOD" value="значение показателя за год"/></generic:Attributes>
<generic:Obs><generic:Time>2021</generic:Time><generic:ObsValue value="{value}"/></generic:Obs></generic:Series>"#
    )
}

#[test]
fn short_code_lists_resolve_by_description_and_values_use_decimal_commas() {
    let xml = format!(
        r#"<?xml version="1.0" encoding="windows-1251"?><GenericData xmlns:generic="g" xmlns:structure="s"><CodeLists>
<structure:CodeList id="s_reg"><structure:Code value="00"><structure:Description>Российская Федерация</structure:Description></structure:Code>
<structure:Code value="42"><structure:Description>Липецкая область</structure:Description></structure:Code>
<structure:Code value="11999"><structure:Description>Архангельская область (без АО)</structure:Description></structure:Code>
<structure:Code value="77"><structure:Description>Атлантида</structure:Description></structure:Code></structure:CodeList>
<structure:CodeList id="s_pol"><structure:Code value="1"><structure:Description>Мужчины</structure:Description></structure:Code></structure:CodeList>
</CodeLists><Description><Indicator id="100" name="Тест"/></Description><DataSet>{}{}{}{}</DataSet></GenericData>"#,
        series("00", "101,66"),
        series("42", "99,5"),
        series("77", "1"),
        series("42", "")
    );
    let mut obs = Vec::new();
    let summary = read_sdmx("t.xml", xml.as_bytes(), RegionDictionary::builtin(), |o| {
        obs.push(o);
        Ok(())
    })
    .unwrap();
    assert_eq!(obs.len(), 3);
    assert_eq!(
        (obs[0].region_code.as_str(), obs[0].value),
        ("643", Some(101.66))
    );
    assert_eq!(
        (obs[1].region_code.as_str(), obs[1].value),
        ("42000000000", Some(99.5))
    );
    assert_eq!((obs[2].value, obs[2].status), (None, Status::NotAvailable));
    assert_eq!(
        obs[0].dimensions,
        [("s_pol".to_string(), "Мужчины".to_string())]
    );
    assert_eq!(summary.problems.len(), 1, "Атлантида is no region");
    assert_eq!(
        summary.problems[0].location.cell.as_deref(),
        Some("Series 3 Obs 1")
    );
    assert!(summary.problems[0].found.contains("Атлантида"));
}
