{#-
    One row per period from the first counted order's period to the as-of period, at the
    crm_period grain, with a 0-based period_index so "k periods later" is index arithmetic.
    No hidden cap: staging rejects order dates before crm_earliest_valid_date and after the
    build date, and the as-of date lies between them, so the days from the first order to the
    as-of date are fewer than the days from crm_earliest_valid_date to the build date, which
    fix how many digits the day numbers need.
-#}
{{ crm_retention.period_spine() }}
