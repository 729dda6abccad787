//! Fixtures shared by the warehouse's tests and the publish crate's (`#[path]`-included there): one
//! document record and one figure of table 10.2 in it.

use chrono::{TimeZone, Utc};
use regstat_transform::{Observation, Period, Provenance, Status};
use regstat_warehouse::DocumentRecord;

pub fn doc(sha: &str, day: u32) -> DocumentRecord {
    DocumentRecord {
        sha256: sha.into(),
        source_id: "test".into(),
        url: format!("http://127.0.0.1/{sha}.xlsx"),
        file_name: format!("{sha}.xlsx"),
        fetched_at: Utc.with_ymd_and_hms(2026, 1, day, 6, 0, 0).unwrap(),
        http_status: 200,
        etag: None,
        last_modified: None,
        content_type: None,
        bytes: 10,
    }
}

pub fn obs(sha: &str, cell: &str, year: i32, value: f64) -> Observation {
    Observation {
        indicator: "rosstat:10.2".into(),
        region_code: "42000000000".into(),
        region_label: "Липецкая область".into(),
        period: Period::Year(year),
        value: Some(value),
        unit: "рублей".into(),
        basis: Some("в фактически действовавших ценах".into()),
        status: Status::Ok,
        footnotes: vec!["1) Данные ...".into()],
        dimensions: vec![],
        provenance: Provenance {
            document_sha256: sha.into(),
            sheet: "10.2.".into(),
            cell: cell.into(),
            table_code: "10.2".into(),
            table_title: "Инвестиции".into(),
        },
    }
}
