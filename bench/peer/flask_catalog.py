"""The peer for the catalog benchmark: the original catalog's behaviour (SPEC 1.1)
as a Flask app, written for this benchmark from the spec, run under gunicorn the
way the tutorial deploys it. It instruments requests with prometheus_flask_exporter
as the original does, so both sides pay for metrics.

Data: $CATALOG_DATA_DIR/data_movies.json and data_tv.json.
"""

import json
import os
import random

from flask import Flask, jsonify, request
from prometheus_flask_exporter import PrometheusMetrics

DATA_DIR = os.environ["CATALOG_DATA_DIR"]

app = Flask(__name__)
PrometheusMetrics(app)

with open(os.path.join(DATA_DIR, "data_movies.json")) as f:
    MOVIES = json.load(f)
with open(os.path.join(DATA_DIR, "data_tv.json")) as f:
    SHOWS = json.load(f)


@app.get("/discover")
def discover():
    records = SHOWS if request.args.get("type") == "tv" else MOVIES
    genre = request.args.get("genre")
    if not genre:
        return jsonify(random.sample(list(records.values()), 20))
    wanted = int(genre)
    page = []
    for record in records.values():
        if wanted in record["genre_ids"]:
            page.append(record)
            if len(page) == 20:
                break
    return jsonify(page)


@app.get("/status")
def status():
    return "OK"
