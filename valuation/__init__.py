"""IP valuation engine (知识产权价值评估): pure, vectorised, typed.

Modules: ``assets`` (IP types, legal terms), ``income`` (relief from royalty, 分成率, 约当投资分成,
excess earnings, with-and-without, discount build-up), ``market``, ``cost``, ``scoring``
(GB/T 42748-2023 indicator score), ``montecarlo`` (chunked, seeded simulation), ``real_option``
(QuantLib via ``ipfin.ql`` and a fast MC pricer), ``reconcile`` (weights, tornado), ``report``
(JSON / bilingual HTML), ``engine`` (``value_asset(ValuationRequest) -> ValuationResult``),
``batch`` and ``cli`` (``ipfin value``).
"""
