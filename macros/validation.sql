{#-
    Var access with compile-time validation. Models read vars only through these getters, so a bad
    value stops the build while dbt parses the project, with a message naming the var, the value
    and what is allowed, and no value reaches SQL unvalidated.
-#}

{% macro _crm_var_error(name, value, allowed) %}
    {{ exceptions.raise_compiler_error(
        "Invalid value for var '" ~ name ~ "': " ~ (("'" ~ value ~ "'") if value is string else (value | string)) ~ ". Allowed: " ~ allowed ~ "."
    ) }}
{% endmacro %}

{% macro get_period() %}
    {% set allowed = ['day', 'week', 'month', 'quarter', 'year'] %}
    {% set value = var('crm_period', 'month') %}
    {% if value is not string or (value | lower | trim) not in allowed %}
        {{ crm_retention._crm_var_error('crm_period', value, allowed | join(' | ')) }}
    {% endif %}
    {{ return(value | lower | trim) }}
{% endmacro %}

{% macro _crm_positive_int(name, default, maximum) %}
    {% set value = var(name, default) %}
    {% set text = value | string | trim %}
    {% if value is boolean or not modules.re.fullmatch('[0-9]+', text) or (text | int) < 1 or (text | int) > maximum %}
        {{ crm_retention._crm_var_error(name, value, 'a whole number of days from 1 to ' ~ maximum) }}
    {% endif %}
    {{ return(text | int) }}
{% endmacro %}

{% macro get_churn_window_days() %}
    {{ return(crm_retention._crm_positive_int('crm_churn_window_days', 90, 3650)) }}
{% endmacro %}

{% macro get_at_risk_days() %}
    {% set at_risk_days = crm_retention._crm_positive_int('crm_at_risk_days', 60, 3650) %}
    {% set window_days = crm_retention.get_churn_window_days() %}
    {% if at_risk_days >= window_days %}
        {{ crm_retention._crm_var_error(
            'crm_at_risk_days', at_risk_days,
            'a whole number of days smaller than crm_churn_window_days (' ~ window_days ~ '), or no customer could ever be at risk'
        ) }}
    {% endif %}
    {{ return(at_risk_days) }}
{% endmacro %}

{#- The unit of the predictive models' time columns, in days (7: weeks). -#}
{% macro get_clv_time_unit_days() %}
    {{ return(crm_retention._crm_positive_int('crm_clv_time_unit_days', 7, 365)) }}
{% endmacro %}

{#- How far ahead expected_purchases and predicted_clv look, in days. -#}
{% macro get_clv_horizon_days() %}
    {{ return(crm_retention._crm_positive_int('crm_clv_horizon_days', 365, 3650)) }}
{% endmacro %}

{#- The days before the as-of date the backtest holds out: it fits on the days before them. -#}
{% macro get_clv_backtest_holdout_days() %}
    {{ return(crm_retention._crm_positive_int('crm_clv_backtest_holdout_days', 180, 3650)) }}
{% endmacro %}

{#-
    Parameters fitted elsewhere (e.g. crm__clv_model of a DuckDB build of the same data) for the
    engines that do not run the package's Python models: {r, alpha, a, b} of BG/NBD and, for the
    value columns, {p, q, gamma} of Gamma-Gamma (q above 1). Null (the default): no predictions
    there. A mapping of names to floats, or none.
-#}
{% macro get_clv_parameters() %}
    {% set value = var('crm_clv_parameters', none) %}
    {% set allowed = 'null, or a mapping of r, alpha, a, b (and optionally all of p, q, gamma, with q above 1) to positive numbers, e.g. {r: 0.243, alpha: 4.414, a: 0.793, b: 2.426}' %}
    {% if value is none %}{{ return(none) }}{% endif %}
    {% set names = value.keys() | list if value is mapping else [] %}
    {% set bgnbd = ['r', 'alpha', 'a', 'b'] %}
    {% set spend = ['p', 'q', 'gamma'] %}
    {% if value is not mapping or (bgnbd | reject('in', names) | list) or (names | reject('in', bgnbd + spend) | list)
          or ((spend | select('in', names) | list | length) not in [0, 3]) %}
        {{ crm_retention._crm_var_error('crm_clv_parameters', value, allowed) }}
    {% endif %}
    {% set parameters = {} %}
    {% for name in names %}
        {% set text = value[name] | string | trim %}
        {% if value[name] is boolean or not modules.re.fullmatch('[0-9]+(\\.[0-9]*)?([eE][-+]?[0-9]+)?|\\.[0-9]+([eE][-+]?[0-9]+)?', text) or (text | float) <= 0 %}
            {{ crm_retention._crm_var_error('crm_clv_parameters', value, allowed) }}
        {% endif %}
        {% do parameters.update({name: text | float}) %}
    {% endfor %}
    {% if 'q' in parameters and parameters['q'] <= 1 %}
        {{ crm_retention._crm_var_error('crm_clv_parameters', value, allowed) }}
    {% endif %}
    {{ return(parameters) }}
{% endmacro %}

{#- The annual rate predicted_clv is discounted at, as a fraction (0.1 = 10% a year). -#}
{% macro get_clv_annual_discount_rate() %}
    {% set value = var('crm_clv_annual_discount_rate', 0.1) %}
    {% set text = value | string | trim %}
    {% if value is boolean or not modules.re.fullmatch('[0-9]+(\\.[0-9]+)?|\\.[0-9]+', text) or (text | float) > 1 %}
        {{ crm_retention._crm_var_error(
            'crm_clv_annual_discount_rate', value, 'a fraction from 0 to 1, e.g. 0.1 for 10% a year'
        ) }}
    {% endif %}
    {{ return(text | float) }}
{% endmacro %}

{#-
    Explicit RFM boundaries: a mapping from recency, frequency and/or monetary to four ascending
    cut points (the measures left out are scored by quintile). Frequency and monetary: a value up
    to cut point k scores k, above the fourth 5. Recency, in days since the last order: up to cut
    point k scores 6 - k (5 within the first), beyond the fourth 1.
-#}
{% macro get_rfm_cut_points() %}
    {% set value = var('crm_rfm_cut_points', none) %}
    {% set allowed = 'null, or a mapping of recency, frequency and/or monetary to four ascending numbers, e.g. {recency: [30, 90, 180, 365], frequency: [1, 2, 3, 5]} (recency and frequency whole numbers)' %}
    {% if value is none %}{{ return({}) }}{% endif %}
    {% if value is not mapping or value | length == 0 %}
        {{ crm_retention._crm_var_error('crm_rfm_cut_points', value, allowed) }}
    {% endif %}
    {% set cut_points = {} %}
    {% for measure, points in value.items() %}
        {% set number = '[0-9]+' if measure in ['recency', 'frequency'] else '[0-9]+(\\.[0-9]+)?' %}
        {% if measure not in ['recency', 'frequency', 'monetary'] or points is string or points is not iterable or points | length != 4 %}
            {{ crm_retention._crm_var_error('crm_rfm_cut_points', value, allowed) }}
        {% endif %}
        {% for point in points %}
            {% if point is boolean or not modules.re.fullmatch(number, point | string | trim) or (loop.index0 > 0 and (point | float) <= (points[loop.index0 - 1] | float)) %}
                {{ crm_retention._crm_var_error('crm_rfm_cut_points', value, allowed) }}
            {% endif %}
        {% endfor %}
        {% do cut_points.update({measure: points | map('string') | map('trim') | list}) %}
    {% endfor %}
    {{ return(cut_points) }}
{% endmacro %}

{#-
    An IANA time zone name (e.g. America/Los_Angeles), checked against the tz database dbt
    ships (pytz); UTC by default. crm_timezone is the zone of every date the marts report;
    crm_raw_timestamps_timezone the zone of a raw time of day written without an offset.
-#}
{% macro _crm_timezone_var(name) %}
    {% set value = var(name, 'UTC') %}
    {% if value is none %}{{ return('UTC') }}{% endif %}
    {% if value is not string or (value | trim) not in modules.pytz.all_timezones_set %}
        {{ crm_retention._crm_var_error(name, value, 'an IANA time zone name such as UTC, Europe/Berlin or America/Los_Angeles') }}
    {% endif %}
    {{ return(value | trim) }}
{% endmacro %}

{% macro get_timezone() %}
    {{ return(crm_retention._crm_timezone_var('crm_timezone')) }}
{% endmacro %}

{% macro get_raw_timestamps_timezone() %}
    {{ return(crm_retention._crm_timezone_var('crm_raw_timestamps_timezone')) }}
{% endmacro %}

{#-
    Who a customer is: customer_id (default; every id its own customer) or email (customer ids
    whose normalised email is equal are one person, int_crm__persons). Not with crm_incremental:
    a new record can join stored customers into one person, which an incremental run cannot undo.
-#}
{% macro get_identity() %}
    {% set value = var('crm_identity', 'customer_id') %}
    {% if value is not string or (value | trim | lower) not in ['customer_id', 'email'] %}
        {{ crm_retention._crm_var_error('crm_identity', value, 'customer_id | email') }}
    {% endif %}
    {% if (value | trim | lower) == 'email' and crm_retention.get_flag('crm_incremental', false) %}
        {{ crm_retention._crm_var_error('crm_identity', value, 'customer_id with crm_incremental: true (a new record can merge stored customers; build email identities with full builds)') }}
    {% endif %}
    {{ return(value | trim | lower) }}
{% endmacro %}

{#- The build's own UTC date as 'YYYY-MM-DD': no date var may lie after it. -#}
{% macro build_date() %}
    {{ return(run_started_at.strftime('%Y-%m-%d')) }}
{% endmacro %}

{#- A date var as a validated 'YYYY-MM-DD' string, or none when unset. -#}
{% macro _crm_date_var(name, default, allowed) %}
    {% set value = var(name, default) %}
    {% if value is none or (value is string and value | trim == '') %}
        {{ return(none) }}
    {% endif %}
    {% set text = value | string | trim %}
    {% set match = modules.re.fullmatch('([0-9]{4})-([0-9]{2})-([0-9]{2})', text) %}
    {% if not match %}
        {{ crm_retention._crm_var_error(name, value, allowed) }}
    {% endif %}
    {% set year = match.group(1) | int %}
    {% set month = match.group(2) | int %}
    {% set day = match.group(3) | int %}
    {% set is_leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 %}
    {% set month_days = [31, 29 if is_leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] %}
    {% if year < 1 or month < 1 or month > 12 or day < 1 or day > month_days[month - 1] %}
        {{ crm_retention._crm_var_error(name, value, allowed) }}
    {% endif %}
    {% if text > crm_retention.build_date() %}
        {{ crm_retention._crm_var_error(name, value, allowed ~ ', not after the date the build runs (' ~ crm_retention.build_date() ~ ' UTC)') }}
    {% endif %}
    {{ return(text) }}
{% endmacro %}

{#- The as-of date as a validated 'YYYY-MM-DD' string, or none when the data decides. -#}
{% macro get_as_of_date() %}
    {% set as_of_date = crm_retention._crm_date_var(
        'crm_as_of_date', none,
        'a date written YYYY-MM-DD that exists on the calendar, or null for the latest counted order date'
    ) %}
    {% if as_of_date is not none and as_of_date < crm_retention.get_earliest_valid_date() %}
        {{ crm_retention._crm_var_error('crm_as_of_date', as_of_date, 'a date on or after crm_earliest_valid_date (' ~ crm_retention.get_earliest_valid_date() ~ ')') }}
    {% endif %}
    {{ return(as_of_date) }}
{% endmacro %}

{#- Timestamps before this date are rejected as too_early_timestamp; the spine never starts before it. -#}
{% macro get_earliest_valid_date() %}
    {% set allowed = 'a date written YYYY-MM-DD that exists on the calendar, e.g. 1990-01-01' %}
    {% set value = crm_retention._crm_date_var('crm_earliest_valid_date', '1990-01-01', allowed) %}
    {% if value is none %}
        {{ crm_retention._crm_var_error('crm_earliest_valid_date', var('crm_earliest_valid_date'), allowed) }}
    {% endif %}
    {{ return(value) }}
{% endmacro %}

{#- A status list, trimmed and lower-cased; statuses become SQL literals, so only plain words pass. -#}
{% macro get_status_list(kind) %}
    {% set name = 'crm_' ~ kind ~ '_statuses' %}
    {% set defaults = {
        'counted': ['completed', 'shipped', 'delivered', 'paid', 'placed'],
        'ignored': ['cancelled', 'canceled', 'failed', 'pending', 'test', 'returned', 'refunded', 'draft'],
    } %}
    {% set value = var(name, defaults[kind]) %}
    {% set allowed = 'a list of statuses, each letters, digits, spaces, _ or -, e.g. ' ~ (defaults[kind] | join(', ')) %}
    {% if value is string or value is mapping or value is not iterable %}
        {{ crm_retention._crm_var_error(name, value, allowed) }}
    {% endif %}
    {% set statuses = [] %}
    {% for status in value %}
        {% if status is not string or not modules.re.fullmatch('[a-z0-9 _-]+', status | trim | lower) %}
            {{ crm_retention._crm_var_error(name, value, allowed) }}
        {% endif %}
        {% do statuses.append(status | trim | lower) %}
    {% endfor %}
    {% if kind == 'counted' and statuses | length == 0 %}
        {{ crm_retention._crm_var_error(name, value, 'at least one status: ' ~ allowed) }}
    {% endif %}
    {{ return(statuses) }}
{% endmacro %}

{% macro get_status_lists() %}
    {% set counted = crm_retention.get_status_list('counted') %}
    {% set ignored = crm_retention.get_status_list('ignored') %}
    {% set both = [] %}
    {% for status in counted if status in ignored %}
        {% do both.append(status) %}
    {% endfor %}
    {% if both %}
        {{ crm_retention._crm_var_error(
            'crm_ignored_statuses', ignored,
            'statuses that are not also in crm_counted_statuses (both list ' ~ (both | join(', ')) ~ ')'
        ) }}
    {% endif %}
    {{ return({'counted': counted, 'ignored': ignored}) }}
{% endmacro %}

{#-
    The status of every order row when the orders table has no status column (null: none, the
    column is required). It must be a counted or an ignored status.
-#}
{% macro get_default_order_status() %}
    {% set value = var('crm_default_order_status', none) %}
    {% if value is none or (value is string and value | trim == '') %}
        {{ return(none) }}
    {% endif %}
    {% set statuses = crm_retention.get_status_lists() %}
    {% if value is not string or (value | trim | lower) not in statuses.counted + statuses.ignored %}
        {{ crm_retention._crm_var_error(
            'crm_default_order_status', value,
            'null, or one of the counted statuses (' ~ (statuses.counted | join(', ')) ~ ') or ignored statuses ('
            ~ (statuses.ignored | join(', ')) ~ ')'
        ) }}
    {% endif %}
    {{ return(value | trim | lower) }}
{% endmacro %}

{#- What one raw order row is: an order (default) or an order line (lines of an order id sum to the order). -#}
{% macro get_orders_grain() %}
    {% set value = var('crm_orders_grain', 'order') %}
    {% if value is not string or (value | trim | lower) not in ['order', 'line'] %}
        {{ crm_retention._crm_var_error('crm_orders_grain', value, 'order | line') }}
    {% endif %}
    {{ return(value | trim | lower) }}
{% endmacro %}

{#-
    What a return line (a negative amount at crm_orders_grain: line, as retail exports ship
    them) does: net (default) subtracts it from its order's revenue, reject rejects it as
    negative_amount. At order grain a negative amount is always rejected.
-#}
{% macro get_order_line_returns() %}
    {% set value = var('crm_order_line_returns', 'net') %}
    {% if value is not string or (value | trim | lower) not in ['reject', 'net'] %}
        {{ crm_retention._crm_var_error('crm_order_line_returns', value, 'reject | net') }}
    {% endif %}
    {{ return(value | trim | lower) }}
{% endmacro %}

{#- The currency every money column of the marts is in, upper-cased; null: the data is single-currency. -#}
{% macro get_reporting_currency() %}
    {% set value = var('crm_reporting_currency', none) %}
    {% if value is none or (value is string and value | trim == '') %}
        {{ return(none) }}
    {% endif %}
    {% if value is not string or not modules.re.fullmatch('[A-Za-z]{3}', value | trim) %}
        {{ crm_retention._crm_var_error('crm_reporting_currency', value, 'null, or a three-letter currency code such as USD') }}
    {% endif %}
    {{ return(value | trim | upper) }}
{% endmacro %}

{#- The share of a source's raw rows rejected (but superseded versions) above which the guard warns or fails. -#}
{% macro _crm_share(name, default) %}
    {% set value = var(name, default) %}
    {% set text = value | string | trim %}
    {% if value is boolean or not modules.re.fullmatch('[0-9]*[.]?[0-9]+', text) or (text | float) > 1 %}
        {{ crm_retention._crm_var_error(name, value, 'a share from 0 to 1, e.g. 0.05') }}
    {% endif %}
    {{ return(text | float) }}
{% endmacro %}

{% macro get_rejected_share(level) %}
    {{ return(crm_retention._crm_share('crm_rejected_share_' ~ level, {'warn': 0.02, 'error': 0.2}[level])) }}
{% endmacro %}

{#- The share of repeat gaps the churn window may split into a churn and a reactivation before the build warns. -#}
{% macro get_churn_window_warn_share() %}
    {{ return(crm_retention._crm_share('crm_churn_window_warn_share', 0.2)) }}
{% endmacro %}

{% macro get_rejected_shares() %}
    {% set warn = crm_retention.get_rejected_share('warn') %}
    {% set error = crm_retention.get_rejected_share('error') %}
    {% if warn > error %}
        {{ crm_retention._crm_var_error('crm_rejected_share_warn', warn, 'a share no larger than crm_rejected_share_error (' ~ error ~ ')') }}
    {% endif %}
    {{ return({'warn': warn, 'error': error}) }}
{% endmacro %}

{% macro get_flag(name, default) %}
    {% set value = var(name, default) %}
    {% if value is boolean %}
        {{ return(value) }}
    {% elif value is string and value | trim | lower in ['true', 'false'] %}
        {{ return(value | trim | lower == 'true') }}
    {% endif %}
    {{ crm_retention._crm_var_error(name, value, 'true or false') }}
{% endmacro %}

{#- Relation names come from vars; only plain identifiers are accepted. -#}
{% macro get_identifier_var(name, default) %}
    {% set value = var(name, default) %}
    {% if value is none %}
        {{ return(default) }}
    {% endif %}
    {% if value is not string or not modules.re.fullmatch('[A-Za-z_][A-Za-z0-9_$-]*', value | trim) %}
        {{ crm_retention._crm_var_error(name, value, 'a plain identifier: letters, digits, _, $ or -, starting with a letter or _') }}
    {% endif %}
    {{ return(value | trim) }}
{% endmacro %}

{#-
    The customer attributes to break the numbers down by (the segment marts): a list of column
    names of the raw customers table, lower case, each a plain identifier, none twice. Empty
    (the default) leaves the segment marts disabled. Whether the raw table has each column is
    checked when staging reads it (raw_columns in macros/source_columns.sql).
-#}
{% macro get_segments() %}
    {% set value = var('crm_segments', []) %}
    {% set allowed = 'a list of column names of the raw customers table, e.g. [acquisition_channel, country], or [] for no segment marts' %}
    {% if value is none %}
        {{ return([]) }}
    {% endif %}
    {% if value is string or value is mapping or value is not iterable %}
        {{ crm_retention._crm_var_error('crm_segments', value, allowed) }}
    {% endif %}
    {% set segments = [] %}
    {% for item in value %}
        {% set name = item | string | trim | lower %}
        {#- Quoted wherever it is read (reserved words, spaces); never a quote, backslash or
            semicolon, which no column name needs. -#}
        {% if item is not string or name == '' or modules.re.search("['\\\\;]|[\\x00-\\x1f]", name) %}
            {{ crm_retention._crm_var_error('crm_segments', value, allowed ~ "; each name a plain column name (any characters but ', \\ and ;), not " ~ item) }}
        {% endif %}
        {% if name in segments %}
            {{ crm_retention._crm_var_error('crm_segments', value, allowed ~ '; each name once (' ~ name ~ ' is repeated)') }}
        {% endif %}
        {% if name in ['customer_id', 'updated_at', 'created_at'] %}
            {{ crm_retention._crm_var_error('crm_segments', value, allowed ~ '; ' ~ name ~ ' identifies or dates a record and is not an attribute') }}
        {% endif %}
        {% do segments.append(name) %}
    {% endfor %}
    {% if segments and not crm_retention.get_flag('crm_using_customers', true) %}
        {{ crm_retention._crm_var_error('crm_segments', value, '[] with crm_using_customers: false (segments are columns of the raw customers table, which is not read)') }}
    {% endif %}
    {{ return(segments) }}
{% endmacro %}

{#- A source-freshness threshold in hours, or none (the default) for no check. -#}
{% macro get_freshness_hours(name) %}
    {% set value = var(name, none) %}
    {% if value is none or (value is string and value | trim == '') %}
        {{ return(none) }}
    {% endif %}
    {% set text = value | string | trim %}
    {% if value is boolean or not modules.re.fullmatch('[0-9]+', text) or (text | int) < 1 or (text | int) > 87600 %}
        {{ crm_retention._crm_var_error(name, value, 'null (no check) or a whole number of hours from 1 to 87600') }}
    {% endif %}
    {% set hours = text | int %}
    {% if name == 'crm_freshness_error_after_hours' %}
        {% set warn_hours = crm_retention.get_freshness_hours('crm_freshness_warn_after_hours') %}
        {% if warn_hours is not none and hours < warn_hours %}
            {{ crm_retention._crm_var_error(
                name, value,
                'null (no check) or a whole number of hours not below crm_freshness_warn_after_hours (' ~ warn_hours ~ ')'
            ) }}
        {% endif %}
    {% endif %}
    {{ return(hours) }}
{% endmacro %}

{#- Touches every var once, so that any bad value fails the parse even if no model reads it yet. -#}
{% macro validate_vars() %}
    {% do crm_retention.get_identifier_var('crm_database', none) %}
    {% do crm_retention.get_identifier_var('crm_schema', none) %}
    {% for table, default in [
        ('orders', 'raw_orders'),
        ('customers', 'raw_customers'),
        ('nps_responses', 'raw_nps_responses'),
        ('marketing_spend', 'raw_marketing_spend'),
        ('exchange_rates', 'raw_exchange_rates'),
    ] %}
        {% do crm_retention.get_identifier_var('crm_' ~ table ~ '_identifier', default) %}
        {% do crm_retention.get_column_map(table) %}
    {% endfor %}
    {% do crm_retention.get_earliest_valid_date() %}
    {% do crm_retention.get_default_order_status() %}
    {% do crm_retention.get_orders_grain() %}
    {% do crm_retention.get_order_line_returns() %}
    {% do crm_retention.get_reporting_currency() %}
    {% do crm_retention.get_rejected_shares() %}
    {% do crm_retention.get_flag('crm_using_exchange_rates', false) %}
    {% do crm_retention.get_period() %}
    {% do crm_retention.get_at_risk_days() %}
    {% do crm_retention.get_as_of_date() %}
    {% do crm_retention.get_status_lists() %}
    {% do crm_retention.get_flag('crm_using_customers', true) %}
    {% do crm_retention.get_flag('crm_using_nps', true) %}
    {% do crm_retention.get_flag('crm_using_marketing_spend', true) %}
    {% do crm_retention.get_flag('crm_using_demo_data', false) %}
    {% do crm_retention.get_flag('crm_incremental', false) %}
    {% do crm_retention.get_flag('crm_run_self_tests', false) %}
    {% do crm_retention.get_incremental_lookback_days() %}
    {% do crm_retention.get_flag('crm_incremental_full_check', false) %}
    {% do crm_retention.get_flag('crm_using_semantic_layer', false) %}
    {% do crm_retention.get_flag('crm_using_semantic_layer_time_spine', true) %}
    {% do crm_retention.get_segments() %}
    {% do crm_retention.get_freshness_hours('crm_freshness_warn_after_hours') %}
    {% do crm_retention.get_freshness_hours('crm_freshness_error_after_hours') %}
    {% do crm_retention.get_flag('crm_using_predictions', true) %}
    {% do crm_retention.get_clv_time_unit_days() %}
    {% do crm_retention.get_clv_horizon_days() %}
    {% do crm_retention.get_clv_annual_discount_rate() %}
    {% do crm_retention.get_clv_backtest_holdout_days() %}
    {% do crm_retention.get_clv_parameters() %}
    {% do crm_retention.get_rfm_cut_points() %}
    {% do crm_retention.get_churn_window_warn_share() %}
    {% do crm_retention.get_timezone() %}
    {% do crm_retention.get_raw_timestamps_timezone() %}
    {% do crm_retention.get_identity() %}
    {% do crm_retention.get_flag('crm_identity_gmail_aliases', false) %}
{% endmacro %}
