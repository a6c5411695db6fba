"""The province-scale batch world (world/province.py): copies of a world as cities with their own codes, side by
side, each record still in (the copy of) its grid."""

from __future__ import annotations

import sqlite3

from console.batch import db as batch_db, reassign
from world.province import build_province, main


def test_three_cities_from_the_small_world(small_world_db, tmp_path):
    out = tmp_path / "province.sqlite"
    counts = build_province(small_world_db, str(out), cities=3, processes=2, log=lambda m: None)
    tpl = sqlite3.connect(small_world_db)
    n_person = tpl.execute("SELECT count(*) FROM person").fetchone()[0]
    n_grid = tpl.execute("SELECT count(*) FROM grid WHERE generation_high IS NULL").fetchone()[0]
    tpl.close()
    assert counts["person"] == 3 * n_person
    con = sqlite3.connect(out)
    by_city = dict(con.execute("SELECT substr(grid_code, 1, 4), count(*) FROM person GROUP BY 1").fetchall())
    assert by_city == {"6109": n_person, "6191": n_person, "6192": n_person}
    assert con.execute("SELECT count(*) FROM grid WHERE generation_high IS NULL").fetchone()[0] == 3 * n_grid
    assert con.execute("SELECT count(*) FROM area WHERE level = 'city'").fetchone()[0] == 3
    # households and buildings of a copy are that copy's: same city prefix, ids moved together
    assert con.execute("SELECT count(*) FROM person p JOIN household h ON h.id = p.household_id "
                       "WHERE substr(p.grid_code, 1, 4) != substr(h.grid_code, 1, 4)").fetchone()[0] == 0
    assert con.execute("SELECT count(DISTINCT id_number_bidx) FROM person").fetchone()[0] == \
        3 * con.execute("SELECT count(DISTINCT id_number_bidx) FROM person WHERE grid_code LIKE '6109%'").fetchone()[0]
    con.close()
    # the cities do not overlap and every copied record lies in the copy of its grid
    result = reassign.run(str(out), None, dry_run=True)
    assert result.changed == {t: 0 for t in reassign.TABLES}
    assert result.partitions == 3 * 10 + 2
    batch_db._ENGINES.clear()


def test_cli_refuses_an_existing_output_and_a_bad_city_count(small_world_db, tmp_path, capsys):
    out = tmp_path / "there.sqlite"
    out.write_bytes(b"")
    assert main(["--template", small_world_db, "--out", str(out), "--cities", "2"]) == 2
    assert "已存在" in capsys.readouterr().err
    assert main(["--template", small_world_db, "--out", str(tmp_path / "x.sqlite"), "--cities", "11"]) == 2
