"""`dnabench ingest genes --liftover` against pyliftover, an independent
implementation of UCSC liftOver, on a generated chain file with gaps on
either side and a chromosome on the reverse strand."""

import csv
import io
import random

from conftest import run


def write_chain(path, rng):
    """chrA onto chrA forward, chrB onto the reverse strand of chrB; each in
    blocks parted by gaps of unequal widths in source and target, so an
    interval across a gap always changes length."""
    chains = []
    sizes = {}
    for chain_id, (name, strand) in enumerate([("chrA", "+"), ("chrB", "-")], start=1):
        blocks = []
        source = target = 0
        for _ in range(12):
            size = rng.randint(200, 2000)
            dt = rng.randint(0, 60)
            dq = dt + rng.choice([-1, 1]) * rng.randint(1, 40)
            dq = max(dq, 0) if dq != dt else dt + 1
            blocks.append((size, dt, dq))
            source += size + dt
            target += size + dq
        last = rng.randint(200, 2000)
        source += last
        target += last
        sizes[name] = (source, target)
        lines = [f"chain {1000 - chain_id} {name} {source} + 0 {source} {name} {target} {strand} 0 {target} {chain_id}"]
        lines += [f"{s}\t{dt}\t{dq}" for s, dt, dq in blocks] + [str(last), ""]
        chains.append("\n".join(lines))
    path.write_text("\n".join(chains) + "\n")
    return sizes


def expected(lift, chrom, start, end):
    """Where pyliftover puts [start, end): both ends mapped by one block, the
    length kept; None otherwise."""
    lo = lift.convert_coordinate(chrom, start)
    hi = lift.convert_coordinate(chrom, end - 1)
    if not lo or not hi or len(lo) != 1 or len(hi) != 1:
        return None
    (c1, p1, s1, _), (c2, p2, s2, _) = lo[0], hi[0]
    if c1 != c2 or s1 != s2 or abs(p2 - p1) != end - 1 - start:
        return None
    return c1, min(p1, p2), max(p1, p2) + 1, s1


def test_genes_lift_over_as_pyliftover_maps_them(tmp_path):
    from pyliftover import LiftOver

    rng = random.Random(11)
    chain = tmp_path / "test.over.chain"
    sizes = write_chain(chain, rng)
    rows = []
    for i in range(600):
        chrom = rng.choice(["chrA", "chrB"])
        width = rng.choice([1, 1, 5, 50, 300])
        start = rng.randrange(0, sizes[chrom][0] - width)
        strand = rng.choice("+-")
        rows.append((chrom, start, start + width, f"g{i}", strand))
    rows.append(("chrC", 10, 20, "unchained", "+"))
    bed = tmp_path / "genes.bed"
    bed.write_text("".join(f"{c}\t{s}\t{e}\t{n}\t0\t{st}\n" for c, s, e, n, st in rows))
    store = tmp_path / "store"
    out = run("ingest", "genes", str(bed), "--liftover", str(chain), "--store", str(store))
    assert "not lifted over" in out

    lift = LiftOver(str(chain))
    want = {}
    for chrom, start, end, name, strand in rows:
        hit = expected(lift, chrom, start, end)
        if hit:
            c, s, e, chain_strand = hit
            flipped = {"+": "-", "-": "+"}[strand] if chain_strand == "-" else strand
            want[name] = (c, s, e, flipped)
    table = run("sql", "--store", str(store), "--format", "csv",
                "SELECT gene_id, chrom, start, \"end\", strand FROM genes")
    got = {r["gene_id"]: (r["chrom"], int(r["start"]), int(r["end"]), r["strand"])
           for r in csv.DictReader(io.StringIO(table))}
    assert got == want
    assert 100 < len(want) < len(rows), "some rows map and some do not"
    listed = (store / "liftover" / "genes.bed.unmapped.tsv").read_text().splitlines()
    assert listed[0] == "line\tinterval\treason"
    assert len(listed) - 1 == len(rows) - len(want)
    assert any(line.endswith("chrC:10-20\tno chain covers it") for line in listed)


def test_peaks_and_their_summits_lift_over_as_pyliftover_maps_them(tmp_path):
    """narrowPeak rows: the interval as for genes, and the summit (an offset
    from the start) where pyliftover puts the summit's own base, so on the
    reverse strand it is mirrored."""
    from pyliftover import LiftOver

    rng = random.Random(12)
    chain = tmp_path / "test.over.chain"
    sizes = write_chain(chain, rng)
    rows = []
    for i in range(600):
        chrom = rng.choice(["chrA", "chrB"])
        width = rng.choice([20, 100, 250])
        start = rng.randrange(0, sizes[chrom][0] - width)
        summit = rng.randrange(0, width)
        rows.append((chrom, start, start + width, f"p{i}", summit))
    peaks = tmp_path / "sample.narrowPeak"
    peaks.write_text("".join(
        f"{c}\t{s}\t{e}\t{n}\t0\t.\t5.0\t-1\t-1\t{summit}\n" for c, s, e, n, summit in rows))
    store = tmp_path / "store"
    out = run("ingest", "peaks", str(peaks), "--liftover", str(chain), "--store", str(store))
    assert "not lifted over" in out

    lift = LiftOver(str(chain))
    want = {}
    for chrom, start, end, name, summit in rows:
        hit = expected(lift, chrom, start, end)
        if hit:
            c, s, e, _ = hit
            (_, at, _, _), = lift.convert_coordinate(chrom, start + summit)
            want[name] = (c, s, e, at - s)
    table = run("sql", "--store", str(store), "--format", "csv",
                "SELECT name, chrom, start, \"end\", summit FROM peaks")
    got = {r["name"]: (r["chrom"], int(r["start"]), int(r["end"]), int(r["summit"]))
           for r in csv.DictReader(io.StringIO(table))}
    assert got == want
    assert 100 < len(want) < len(rows), "some rows map and some do not"
    assert any(v[0] == "chrB" for v in want.values()), "some on the reverse strand"
    listed = (store / "liftover" / "sample.narrowPeak.unmapped.tsv").read_text().splitlines()
    assert len(listed) - 1 == len(rows) - len(want)
