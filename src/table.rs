//! Tables for people on the command line (`simrelay sims`, `simrelay v2 take-off`, …): one look
//! for every command, drawn by comfy-table so that Cyrillic and wide characters line up.

use comfy_table::presets::NOTHING;
use comfy_table::{Table, TableComponent};

/// Renders rows under a header, psql-style: ` a | b` over `---+---`, no outer border, no
/// trailing blanks (so the output greps and diffs cleanly).
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut table = Table::new();
    table
        .load_preset(NOTHING)
        .set_style(TableComponent::VerticalLines, '|')
        .set_style(TableComponent::HeaderLines, '-')
        .set_style(TableComponent::MiddleHeaderIntersections, '+')
        .set_header(header.to_vec());
    for row in rows {
        table.add_row(row.clone());
    }
    table.trim_fmt()
}

#[cfg(test)]
mod tests {
    use super::table;

    #[test]
    fn columns_align_under_the_header() {
        let t = table(
            &["a", "long header"],
            &[
                vec!["value".into(), "x".into()],
                vec!["б".into(), "二".into()],
            ],
        );
        assert_eq!(
            t,
            " a     | long header\n-------+-------------\n value | x\n б     | 二"
        );
    }

    #[test]
    fn an_empty_listing_is_its_header() {
        assert_eq!(table(&["id", "state"], &[]), " id | state\n----+-------");
    }
}
