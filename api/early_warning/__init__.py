"""Early warning (预警评分) and collateral stress tests (押品压力测试): runs, scores, watchlist, API and jobs."""
