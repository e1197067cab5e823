"""The API of seed 004, reduced to one route (run by `fastapi run app/main.py`)."""
from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
def health():
    return {"status": "ok"}
