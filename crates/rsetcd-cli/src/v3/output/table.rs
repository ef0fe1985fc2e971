//! The table format: etcdctl's boxed tables (olekukonko/tablewriter with etcdctl's settings:
//! upper-case centred headers, cells aligned right). etcdctl prints tables only for the member,
//! endpoint and snapshot commands.

use super::Out;

fn rule(out: &mut Out, widths: &[usize]) {
    let mut line = String::from("+");
    for w in widths {
        line.push_str(&"-".repeat(w + 2));
        line.push('+');
    }
    out.line(&line);
}

/// Appends a table of `headers` and `rows`.
pub fn render(out: &mut Out, headers: &[&str], rows: &[Vec<String>]) {
    let headers: Vec<String> = headers.iter().map(|h| h.to_uppercase()).collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    rule(out, &widths);
    let mut line = String::from("|");
    for (h, w) in headers.iter().zip(&widths) {
        let pad = w - h.chars().count();
        let left = pad / 2;
        line.push_str(&format!(
            " {}{h}{} |",
            " ".repeat(left),
            " ".repeat(pad - left)
        ));
    }
    out.line(&line);
    rule(out, &widths);
    for row in rows {
        let mut line = String::from("|");
        for (i, w) in widths.iter().enumerate() {
            let cell = row.get(i).map_or("", String::as_str);
            let pad = w - cell.chars().count();
            line.push_str(&format!(" {}{cell} |", " ".repeat(pad)));
        }
        out.line(&line);
    }
    rule(out, &widths);
}

#[cfg(test)]
mod tests {
    use super::super::Out;
    use super::render;

    /// What etcdctl 3.5.1's `member list -w table` printed for a one-member cluster.
    #[test]
    fn renders_as_etcdctl_does() {
        let mut out = Out::new(false);
        let row = [
            "2e1259d415f2a040",
            "started",
            "exp",
            "http://127.0.0.1:23800",
            "http://127.0.0.1:23790",
            "false",
        ];
        render(
            &mut out,
            &[
                "ID",
                "Status",
                "Name",
                "Peer Addrs",
                "Client Addrs",
                "Is Learner",
            ],
            &[row.iter().map(|s| s.to_string()).collect()],
        );
        let expected = "\
+------------------+---------+------+------------------------+------------------------+------------+
|        ID        | STATUS  | NAME |       PEER ADDRS       |      CLIENT ADDRS      | IS LEARNER |
+------------------+---------+------+------------------------+------------------------+------------+
| 2e1259d415f2a040 | started |  exp | http://127.0.0.1:23800 | http://127.0.0.1:23790 |      false |
+------------------+---------+------+------------------------+------------------------+------------+
";
        assert_eq!(String::from_utf8_lossy(out.bytes()), expected);
    }
}
