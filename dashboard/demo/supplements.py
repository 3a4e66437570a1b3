"""Demo values of the dossiers' optional fields: requests for more papers, days waiting for them, complaints."""

from __future__ import annotations

import numpy as np

# Requests to the citizen for more papers and complaints, by whether the dossier ran (or will run) late: late
# dossiers were asked more often and drew more complaints. Overall about 8 % one request, 1.5 % two or more
# (2–10 days of waiting), 0.5 % complaints.
_SUPPLEMENT_ONE = {False: 0.066, True: 0.25}
_SUPPLEMENT_MORE = {False: 0.011, True: 0.07}
_COMPLAINT = {False: 0.003, True: 0.03}


def supplements_and_complaints(rng: np.random.Generator, late: np.ndarray) -> tuple[np.ndarray, ...]:
    """(supplement_requests, supplement_days, complaint) per dossier; drawn after every other value of the dossier,
    so adding them left the rest of the demo as it was for a seed."""
    n = len(late)
    u = rng.random(n)
    one = np.where(late, _SUPPLEMENT_ONE[True], _SUPPLEMENT_ONE[False])
    more = np.where(late, _SUPPLEMENT_MORE[True], _SUPPLEMENT_MORE[False])
    extra = rng.choice([2, 3, 4], size=n, p=[0.75, 0.2, 0.05])
    requests = np.select([u < more, u < more + one], [extra, 1], 0).astype(np.int64)
    waited = np.where(requests > 1, rng.uniform(2, 10, n), np.clip(rng.lognormal(np.log(3), 0.5, n), 1, 10))
    days = np.where(requests > 0, np.round(waited, 1), 0.0)
    complaint = rng.random(n) < np.where(late, _COMPLAINT[True], _COMPLAINT[False])
    return requests, days, complaint
