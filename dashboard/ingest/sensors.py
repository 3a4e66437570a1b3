"""Traffic sensors that an import brings: those a counts file names without the database knowing them.

A new user has no sensor list to give: a wide file's column headers are its sensors, a long file has a sensor
column (and often a name column). Unless the import is strict (`--strict-sensors`), each sensor of the file that
the database does not know is registered from the file itself: its id, its name (the header, or the most frequent
name the file gives it), no place (lat, lon and ward NULL: the pages say "chưa có vị trí" and count it in an
unknown ward) and, like a sensor of a --sensors list, a capacity and free-flow speed taken from its own counts.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd
from sqlalchemy import insert, update
from sqlalchemy.engine import Connection

from dashboard.db import import_queries as q
from dashboard.db import schema
from dashboard.ingest.rows import MAX_TEXT

DEFAULT_SPEED_KMH = 40.0  # free-flow speed of a sensor whose counts carry no speed
PLACEHOLDER_CAPACITY = 1.0  # replaced from the sensor's counts once they are staged


class NewSensors:
    """Collects, chunk by chunk, the sensors of a counts file that the database does not know, with their names."""

    def __init__(self, known: set[str]) -> None:
        self.known = known
        self.names: dict[str, Counter] = {}

    def add(self, prepared: pd.DataFrame, names: pd.Series | None) -> None:
        """`prepared`: the chunk's accepted rows (sensor_id); `names`: the file's sensor names by row, or None."""
        fresh = ~prepared["sensor_id"].isin(self.known)
        if not fresh.any():
            return
        ids = prepared.loc[fresh, "sensor_id"]
        given = names.reindex(ids.index) if names is not None else pd.Series(None, index=ids.index, dtype=object)
        given = given.astype(object).where(given.notna() & (given.astype(str).str.strip() != ""), ids)
        for (sensor, name), count in pd.DataFrame({"id": ids, "name": given}).value_counts(sort=False).items():
            self.names.setdefault(str(sensor), Counter())[str(name).strip()[: MAX_TEXT["name"]]] += int(count)

    @property
    def ids(self) -> set[str]:
        return set(self.names)

    def register(self, connection: Connection) -> int:
        """Insert the collected sensors (no place; placeholder capacity and speed); how many were added."""
        if not self.names:
            return 0
        already = q.known_sensors(connection)  # a --sensors list of the same import may have added some
        rows = [
            {
                "id": sensor,
                "name": self._name(sensor),
                "road": self._name(sensor)[: MAX_TEXT["road"]],
                "area_code": None,
                "lat": None,
                "lon": None,
                "free_flow_speed_kmh": DEFAULT_SPEED_KMH,
                "capacity_per_hour": PLACEHOLDER_CAPACITY,
            }
            for sensor in sorted(self.names)
            if sensor not in already
        ]
        if rows:
            connection.execute(insert(schema.traffic_sensors), rows)
        return len(rows)

    def _name(self, sensor: str) -> str:
        """The name the file gives the sensor most often (the first of equal ones), else its id."""
        return self.names[sensor].most_common(1)[0][0] or sensor


def fill_defaults(connection: Connection, stage, new_sensors: set[str]) -> None:
    """New sensors (from a --sensors list or registered from the counts) get capacity and free-flow speed from
    their own counts: the highest count per hour and the highest mean speed (else DEFAULT_SPEED_KMH)."""
    sensors = schema.traffic_sensors
    for row in q.sensor_capacity_defaults(connection, stage).itertuples(index=False):
        if row.sensor_id not in new_sensors:
            continue
        connection.execute(
            update(sensors)
            .where(sensors.c.id == row.sensor_id)
            .values(
                capacity_per_hour=float(row.capacity_per_hour or PLACEHOLDER_CAPACITY),
                free_flow_speed_kmh=float(row.free_flow_speed_kmh or DEFAULT_SPEED_KMH),
            )
        )
