"""Hotspots (repeat locations) and likely duplicates of citizen reports: pure functions, frames in and out.

Two reports are *near* when they have the same category, lie at most `radius_m` metres apart (haversine) and were
received at most `max_gap` apart. Near pairs are found with H3 (`h3` package): each report's cell at the finest
resolution whose average hexagon edge is at least half the radius, and the cells of enough neighbour rings to cover
every point within the radius (`rings_for`), so no pair within the radius is missed; candidate pairs are joined on (category,
cell) and kept when their exact haversine distance is within the radius. No pairwise distance loop.

- A *hotspot* is a connected group of reports linked by near pairs (gap at most `IOC_HOTSPOT_DAYS`) with at least
  `IOC_HOTSPOT_MIN_REPORTS` reports. Its *re-reported* count: reports received after another report of the same
  hotspot was resolved, or flagged `reopened` by the source.
- A *likely duplicate* is a report received at most `IOC_DUPLICATE_HOURS` after a near report of the same category
  that was still open when it arrived (not resolved by then); `duplicate_of` names the earliest such open report.
  It is a candidate for a person to check, never merged.

Input frame columns: id, source, source_id, category, received_at, resolved_at, lat, lon (rows without a place are
ignored), and for hotspots also area_code, agency, reopened.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd
from h3.api import basic_int as h3i

EARTH_RADIUS_M = 6_371_008.8

HOTSPOT_COLUMNS = [
    "id",
    "category",
    "reports",
    "source_ids",
    "report_ids",
    "lat",
    "lon",
    "area_code",
    "agencies",
    "first",
    "last",
    "reopened",
]


@dataclass(frozen=True)
class Rules:
    radius_m: float = 50.0
    days: int = 30
    min_reports: int = 2
    duplicate_hours: int = 48

    @classmethod
    def from_settings(cls) -> Rules:
        from dashboard import config

        return cls(
            radius_m=float(config.value("IOC_HOTSPOT_RADIUS_M")),
            days=int(config.value("IOC_HOTSPOT_DAYS")),
            min_reports=int(config.value("IOC_HOTSPOT_MIN_REPORTS")),
            duplicate_hours=int(config.value("IOC_DUPLICATE_HOURS")),
        )


def resolution_for(radius_m: float) -> int:
    """The finest H3 resolution whose average hexagon edge is at least half `radius_m` (0 for very large radii): two
    or three rings of small cells hold fewer candidate pairs than one ring of cells as wide as the radius."""
    for resolution in range(15, -1, -1):
        if h3i.average_hexagon_edge_length(resolution, unit="m") >= radius_m / 2:
            return resolution
    return 0


def haversine_m(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in metres between arrays of points (degrees)."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def located(reports: pd.DataFrame) -> pd.DataFrame:
    """The reports with a usable place (lat in [-90, 90], lon in [-180, 180]), index reset."""
    lat = pd.to_numeric(reports["lat"], errors="coerce")
    lon = pd.to_numeric(reports["lon"], errors="coerce")
    keep = lat.between(-90, 90) & lon.between(-180, 180)
    return reports.loc[keep].reset_index(drop=True)


def _cells(lat: np.ndarray, lon: np.ndarray, resolution: int) -> np.ndarray:
    return np.fromiter(
        (h3i.latlng_to_cell(y, x, resolution) for y, x in zip(lat, lon, strict=True)), dtype=np.uint64, count=len(lat)
    )


def rings_for(cells: np.ndarray, radius_m: float) -> int:
    """How many neighbour rings around a cell cover every point within `radius_m` of any point of it: one ring covers
    at least one edge length from any point of the centre cell, each further ring at least √3/2 of an edge more
    (edge: the shortest edge of the cells at hand, less 1 % for the cells' curvature)."""
    edge = min(
        h3i.edge_length(directed, unit="m")
        for cell in cells[: min(len(cells), 2_000)]
        for directed in h3i.origin_to_directed_edges(int(cell))
    )
    edge *= 0.99
    if edge >= radius_m:
        return 1
    return 1 + int(np.ceil((radius_m - edge) / (edge * np.sqrt(3) / 2)))


def _ring_offsets(k: int) -> list[tuple[int, int]]:
    """The (di, dj) steps of H3's local IJ coordinates to every cell at most `k` rings away (hexagonal distance:
    max(|di|, |dj|) when the signs agree, |di| + |dj| otherwise)."""
    return [
        (di, dj)
        for di in range(-k, k + 1)
        for dj in range(-k, k + 1)
        if (max(abs(di), abs(dj)) if di * dj >= 0 else abs(di) + abs(dj)) <= k
    ]


def _neighbour_cells(distinct: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(cell index, neighbour cell index) of every pair of the sorted `distinct` cells at most `k` rings apart.
    Through H3's local IJ coordinates around the first cell (one call per cell, then array arithmetic); where those
    are undefined (a pentagon, or cells too far apart) through `grid_disk`, cell by cell."""
    try:
        origin = int(distinct[0])
        ij = np.array([h3i.cell_to_local_ij(origin, value) for value in distinct.tolist()], dtype=np.int64)
    except Exception:  # h3's errors for undefined local coordinates (H3FailedError and subclasses)
        disks = [h3i.grid_disk(value, k) for value in distinct.tolist()]
        sizes = np.fromiter(map(len, disks), dtype=np.int64, count=len(disks))
        values = np.fromiter(itertools.chain.from_iterable(disks), dtype=np.uint64, count=int(sizes.sum()))
        index = np.searchsorted(distinct, values)
        present = distinct[np.minimum(index, len(distinct) - 1)] == values
        return np.repeat(np.arange(len(distinct)), sizes)[present], index[present]
    low = ij.min(axis=0) - k
    width = int(ij[:, 1].max() - low[1] + k + 1)
    key = (ij[:, 0] - low[0]) * width + (ij[:, 1] - low[1])
    by_key = np.argsort(key, kind="stable")
    sorted_key = key[by_key]
    cells, nears = [], []
    for di, dj in _ring_offsets(k):
        wanted = key + di * width + dj
        index = np.minimum(np.searchsorted(sorted_key, wanted), len(sorted_key) - 1)
        found = sorted_key[index] == wanted
        cells.append(np.flatnonzero(found))
        nears.append(by_key[index[found]])
    return np.concatenate(cells), np.concatenate(nears)


def near_pairs(reports: pd.DataFrame, radius_m: float, max_gap: timedelta) -> pd.DataFrame:
    """Pairs (a, b) of row positions of `reports` (a received no later than b, a ≠ b, each pair once) of the same
    category within `radius_m` metres and `max_gap` of each other. Columns: a, b, metres, gap (b − a)."""
    if len(reports) < 2:
        return pd.DataFrame(
            {
                "a": np.array([], dtype="int64"),
                "b": np.array([], dtype="int64"),
                "metres": np.array([], dtype=float),
                "gap": np.array([], dtype="timedelta64[ns]"),
            }
        )
    resolution = resolution_for(radius_m)
    lat = reports["lat"].to_numpy(dtype=float)
    lon = reports["lon"].to_numpy(dtype=float)
    distinct, cell = np.unique(_cells(lat, lon, resolution), return_inverse=True)
    k = rings_for(distinct, radius_m)
    # (cell, neighbour cell) index pairs, each unordered pair of cells once (cell ≤ neighbour), present cells only
    ring_cell, ring_near = _neighbour_cells(distinct, k)
    one_way = ring_cell <= ring_near
    ring_cell, ring_near = ring_cell[one_way], ring_near[one_way]
    order_ring = np.argsort(ring_cell, kind="stable")
    ring_cell, ring_near = ring_cell[order_ring], ring_near[order_ring]
    ring_start = np.searchsorted(ring_cell, np.arange(len(distinct)))
    ring_count = np.searchsorted(ring_cell, np.arange(len(distinct)), side="right") - ring_start
    # reports sorted by (category, cell): the reports of one category in one cell are a contiguous run
    category = pd.factorize(reports["category"])[0].astype(np.int64)
    key = category * len(distinct) + cell
    by_key = np.argsort(key, kind="stable")
    sorted_key = key[by_key]
    # each report × each neighbour cell of its cell (neighbour ≥ its own cell)
    per_report = ring_count[cell]
    report = np.repeat(np.arange(len(reports)), per_report)
    offset = np.arange(len(report)) - np.repeat(np.cumsum(per_report) - per_report, per_report)
    near_cell = ring_near[ring_start[cell[report]] + offset]
    wanted = category[report] * len(distinct) + near_cell
    low = np.searchsorted(sorted_key, wanted, side="left")
    high = np.searchsorted(sorted_key, wanted, side="right")
    count = high - low
    pos = np.repeat(report, count)
    start = np.repeat(low, count)
    step = np.arange(len(pos)) - np.repeat(np.cumsum(count) - count, count)
    other = by_key[start + step]
    same_cell = cell[pos] == cell[other]
    keep = ~same_cell | (pos < other)
    pos, other = pos[keep], other[keep]
    metres = haversine_m(lat[pos], lon[pos], lat[other], lon[other])
    close = metres <= radius_m
    pos, other, metres = pos[close], other[close], metres[close]
    received = pd.to_datetime(reports["received_at"]).to_numpy(dtype="datetime64[ns]")
    # a before b in (received_at, position) order
    swap = (received[other] < received[pos]) | ((received[other] == received[pos]) & (other < pos))
    pos, other = np.where(swap, other, pos), np.where(swap, pos, other)
    gap = received[other] - received[pos]
    soon = gap <= np.timedelta64(int(max_gap.total_seconds() * 1e9), "ns")
    return pd.DataFrame({"a": pos[soon], "b": other[soon], "metres": metres[soon], "gap": gap[soon]})


def seed_groups(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Group reports around seeds, without chaining: the report with the most near reports is a seed and takes every
    near report not yet taken; then the next. Done in rounds, all at once: a report is a seed of its round when it
    ranks before each of its near untaken reports (more near untaken reports first, then earlier position = earlier
    received); each untaken neighbour of a seed joins the best-ranked adjacent seed. Every member is near its seed
    (at most the radius away), so a hotspot spans at most twice the radius. Returns the group (the seed's position)
    of each report, −1 for reports near no other."""
    group = np.full(n, -1, dtype=np.int64)
    src = np.concatenate([a, b]).astype(np.int64)
    dst = np.concatenate([b, a]).astype(np.int64)
    while len(src):
        live = (group[src] < 0) & (group[dst] < 0)
        src, dst = src[live], dst[live]
        if not len(src):
            break
        degree = np.bincount(src, minlength=n)
        order = np.lexsort((np.arange(n), -degree))  # most neighbours first, then position
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n)
        best_neighbour = np.full(n, n, dtype=np.int64)
        np.minimum.at(best_neighbour, src, rank[dst])
        seed = (degree > 0) & (rank < best_neighbour)
        seeds = np.flatnonzero(seed)
        group[seeds] = seeds
        # neighbours of seeds join their best-ranked adjacent seed
        towards = seed[dst] & ~seed[src]
        joiner, by = src[towards], dst[towards]
        pick = np.lexsort((rank[by], joiner))
        joiner, by = joiner[pick], by[pick]
        first = np.r_[True, joiner[1:] != joiner[:-1]]
        group[joiner[first]] = by[first]
    return group


def hotspots(reports: pd.DataFrame, rules: Rules = Rules()) -> pd.DataFrame:
    """One row per hotspot of at least `rules.min_reports` reports (HOTSPOT_COLUMNS), most reports first, then the
    earliest first report, then id. `id` is the category and the source/source_id of the hotspot's first report."""
    frame = located(reports)
    pairs = near_pairs(frame, rules.radius_m, timedelta(days=rules.days))
    if pairs.empty:
        return pd.DataFrame(columns=HOTSPOT_COLUMNS)
    frame = frame.assign(group=seed_groups(len(frame), pairs["a"].to_numpy(), pairs["b"].to_numpy()))
    frame = frame[frame["group"] >= 0]
    sizes = frame["group"].map(frame["group"].value_counts())
    members = frame[sizes >= rules.min_reports].copy()
    if members.empty:
        return pd.DataFrame(columns=HOTSPOT_COLUMNS)
    members["received_at"] = pd.to_datetime(members["received_at"])
    members["resolved_at"] = pd.to_datetime(members["resolved_at"])
    members = members.sort_values(["group", "received_at", "source", "source_id"], kind="stable")
    first_resolved = members.groupby("group")["resolved_at"].transform("min")
    reopened_flag = members["reopened"].fillna(False).astype(bool) if "reopened" in members else False
    members["re_reported"] = (members["received_at"] > first_resolved) | reopened_flag
    members["source_id"] = members["source_id"].astype(str)
    grouped = members.groupby("group", sort=False)
    heads = grouped.head(1).set_index("group")
    areas = members.dropna(subset=["area_code"]).groupby(["group", "area_code"]).size().reset_index(name="n")
    areas = areas.sort_values(["group", "n", "area_code"], ascending=[True, False, True]).drop_duplicates("group")
    # lists per hotspot by splitting the sorted columns at each group's first row (no Python function per group)
    group_of = members["group"].to_numpy()
    starts = np.flatnonzero(np.r_[True, group_of[1:] != group_of[:-1]])
    keys = group_of[starts]
    source_ids = pd.Series([part.tolist() for part in np.split(members["source_id"].to_numpy(), starts[1:])], keys)
    report_ids = pd.Series(
        [part.tolist() for part in np.split(members["id"].to_numpy(dtype=np.int64), starts[1:])], keys
    )
    named = members[["group", "agency"]].dropna().astype({"agency": str}).drop_duplicates()
    named = named.sort_values(["group", "agency"], kind="stable")
    named_group = named["group"].to_numpy()
    named_starts = np.flatnonzero(np.r_[True, named_group[1:] != named_group[:-1]]) if len(named) else np.array([], int)
    agencies = pd.Series(
        [part.tolist() for part in np.split(named["agency"].to_numpy(), named_starts[1:])] if len(named) else [],
        named_group[named_starts] if len(named) else [],
        dtype=object,
    )
    result = pd.DataFrame(
        {
            "id": heads["category"].astype(str) + ":" + heads["source"].astype(str) + ":" + heads["source_id"],
            "category": heads["category"],
            "reports": grouped.size(),
            "source_ids": source_ids,
            "report_ids": report_ids,
            "lat": grouped["lat"].mean().round(6),
            "lon": grouped["lon"].mean().round(6),
            "area_code": areas.set_index("group")["area_code"],
            "agencies": agencies,
            "first": grouped["received_at"].min(),
            "last": grouped["received_at"].max(),
            "reopened": grouped["re_reported"].sum().astype(int),
        }
    )
    result["agencies"] = [value if isinstance(value, list) else [] for value in result["agencies"]]
    result["area_code"] = result["area_code"].astype(object).where(result["area_code"].notna(), None)
    result = result[HOTSPOT_COLUMNS]
    result = result.sort_values(["reports", "first", "id"], ascending=[False, True, True], kind="stable")
    return result.reset_index(drop=True)


def duplicates(reports: pd.DataFrame, rules: Rules = Rules()) -> pd.DataFrame:
    """Likely duplicates: columns id (the new report), duplicate_of (the earliest near report of the same category
    still open when it arrived, received at most `rules.duplicate_hours` before it), metres, hours. One row per
    flagged report, by id."""
    columns = ["id", "duplicate_of", "metres", "hours"]
    frame = located(reports)
    pairs = near_pairs(frame, rules.radius_m, timedelta(hours=rules.duplicate_hours))
    if pairs.empty:
        return pd.DataFrame(columns=columns)
    received = pd.to_datetime(frame["received_at"]).to_numpy()
    resolved = pd.to_datetime(frame["resolved_at"]).to_numpy()
    a, b = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    # the earlier report was still open when the later one arrived, and the later one is not the same moment
    still_open = np.isnat(resolved[a]) | (resolved[a] > received[b])
    later = received[b] > received[a]
    pairs = pairs[still_open & later]
    if pairs.empty:
        return pd.DataFrame(columns=columns)
    ids = frame["id"].to_numpy()
    found = pd.DataFrame(
        {
            "id": ids[pairs["b"].to_numpy()],
            "duplicate_of": ids[pairs["a"].to_numpy()],
            "received": received[pairs["a"].to_numpy()],
            "metres": pairs["metres"].round(1).to_numpy(),
            "hours": (pairs["gap"].dt.total_seconds() / 3600).round(2).to_numpy(),
        }
    )
    found = found.sort_values(["id", "received", "duplicate_of"]).drop_duplicates("id")
    return found[columns].astype({"id": "int64", "duplicate_of": "int64"}).reset_index(drop=True)


def in_hotspots(table: pd.DataFrame) -> set[int]:
    """The report ids of every hotspot of `table` (hotspots' result)."""
    return {int(value) for ids in table.get("report_ids", []) for value in ids}


def as_json(table: pd.DataFrame) -> list[dict]:
    """The CLI's `--json` list: id, category, reports, source_ids, lat, lon, area_code, first, last, reopened."""
    keys = ["id", "category", "reports", "source_ids", "lat", "lon", "area_code", "first", "last", "reopened"]
    out = []
    for row in table.to_dict("records"):
        item = {key: row[key] for key in keys}
        item["reports"] = int(item["reports"])
        item["reopened"] = int(item["reopened"])
        item["first"] = pd.Timestamp(item["first"]).isoformat()
        item["last"] = pd.Timestamp(item["last"]).isoformat()
        out.append(item)
    return out
