"""Browser assets the API's own HTML pages need, served locally so reports render offline."""

from fastapi import APIRouter
from fastapi.responses import FileResponse

from valuation.report import plotly_js_path

router = APIRouter(prefix="/static", tags=["static"], include_in_schema=False)

PLOTLY_JS_ROUTE = "/static/plotly.min.js"


@router.get("/plotly.min.js")
def plotly_js() -> FileResponse:
    return FileResponse(plotly_js_path(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})
