{#-
    The loud guard of a source (docs/definitions.md, "Row accounting"): the share of its raw
    rows rejected for any reason but superseded_version. Above crm_rejected_share_error, or
    when the source has rows but stages none, the build fails; above crm_rejected_share_warn it
    warns. The message names the source, the share and the top reasons with their counts, and
    suggests crm_orders_grain: line when ambiguous duplicate orders dominate (a table of order
    lines read as orders), and the switch of an optional source that stages nothing. `model` is
    the source's base model: one row per raw row.
    The message also says how to list the rows: a build it stops skips crm__rejected_rows.
    The counts are read when the test runs, so that the message can carry them; the test's
    query then returns the message as its one failing row (warn) or the test stops (error).
-#}
{% test rejected_share(model, source_table) %}
{{ config(severity='warn') }}
{%- set message = none -%}
{%- if execute and load_relation(model) is not none -%}
    {%- set shares = crm_retention.get_rejected_shares() -%}
    {%- set counts = run_query(
        "select coalesce(rejection_reason, '') as reason, count(*) as raw_rows from " ~ model
        ~ " where " ~ crm_retention.is_live_row() ~ " group by coalesce(rejection_reason, '') order by 2 desc, 1"
    ) -%}
    {%- set totals = {'raw': 0, 'staged': 0, 'superseded': 0} -%}
    {%- set reasons = [] -%}
    {%- for row in counts.rows -%}
        {%- do totals.update({'raw': totals.raw + row[1]}) -%}
        {%- if row[0] == '' -%}
            {%- do totals.update({'staged': row[1]}) -%}
        {%- elif row[0] == 'superseded_version' -%}
            {%- do totals.update({'superseded': row[1]}) -%}
        {%- else -%}
            {%- do reasons.append(row[0] ~ ': ' ~ row[1]) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set rejected = totals.raw - totals.staged - totals.superseded -%}
    {%- set share = (rejected / totals.raw) if totals.raw > 0 else 0 -%}
    {%- set text = "crm_retention: " ~ rejected ~ " of the " ~ totals.raw ~ " raw rows of " ~ source_table
        ~ " (" ~ ((share * 100) | round(1)) ~ "%, superseded versions aside) are rejected; top reasons: "
        ~ (reasons[:3] | join(', ')) ~ ". To list each row with its reason and raw values (a build this guard"
        ~ " stops skips the table): dbt run --select +crm__rejected_rows, then query crm__rejected_rows."
        ~ " Thresholds: crm_rejected_share_warn "
        ~ shares.warn ~ ", crm_rejected_share_error " ~ shares.error ~ "." -%}
    {%- if reasons and reasons[0].startswith('duplicate_order_id') and crm_retention.get_orders_grain() == 'order' -%}
        {%- set text = text ~ " Most are ambiguous duplicate order ids: if each raw row is an order line, set crm_orders_grain: line." -%}
    {%- endif -%}
    {%- set switches = {'nps_responses': 'crm_using_nps', 'marketing_spend': 'crm_using_marketing_spend',
        'exchange_rates': 'crm_using_exchange_rates'} -%}
    {%- if totals.raw > 0 and totals.staged == 0 and source_table in switches -%}
        {#- An optional source that stages nothing (an all-null export, say) is most often one to switch off. -#}
        {{ exceptions.raise_compiler_error("No raw row of " ~ source_table ~ " stages. If you have no "
            ~ source_table ~ " data, set " ~ switches[source_table] ~ ": false; else fix the rows. " ~ text) }}
    {%- elif totals.raw > 0 and totals.staged == 0 -%}
        {{ exceptions.raise_compiler_error("No raw row of " ~ source_table ~ " stages. " ~ text) }}
    {%- elif share > shares.error -%}
        {{ exceptions.raise_compiler_error(text) }}
    {%- elif share > shares.warn -%}
        {%- set message = text -%}
        {%- do log(text, info=true) -%}
    {%- endif -%}
{%- endif %}
select '{{ (message or "") | replace("'", "''") }}' as message
{% if message is none %}where 1 = 0{% endif %}
{% endtest %}

{#-
    Without crm_reporting_currency the data is taken as single-currency: counted orders in more
    than one currency would be summed into one meaningless figure, so the build stops, naming
    the currencies and the vars that convert them.
-#}
{% test single_currency(model) %}
{%- if execute and crm_retention.get_reporting_currency() is none and load_relation(model) is not none -%}
    {%- set currencies = run_query(
        "select distinct upper(currency) from " ~ model
        ~ " where rejection_reason is null and status_class = 'counted' and currency is not null order by 1 limit 10"
    ).columns[0].values() -%}
    {%- if currencies | length > 1 -%}
        {{ exceptions.raise_compiler_error(
            "crm_retention: counted orders carry more than one currency (" ~ (currencies | join(', '))
            ~ "), and their amounts would be summed as one. Set crm_reporting_currency (e.g. "
            ~ currencies[0] ~ ") and give the rates with crm_using_exchange_rates: true and an exchange_rates "
            ~ "table (crm_exchange_rates_identifier; columns rate_date, currency, rate)."
        ) }}
    {%- endif -%}
{%- endif %}
select 1 as multiple_currencies where 1 = 0
{% endtest %}
