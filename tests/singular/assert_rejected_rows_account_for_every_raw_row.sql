{#-
    Nothing is lost: for each enabled source, raw rows = staged rows + rejected rows
    (crm__rejected_rows). Returns the sources where the counts differ. A staged order counts
    its lines (one at order grain); exchange rates have no staging view: their base rows
    without a reason are the staged ones.
-#}
{%- set sources = [('orders', 'stg_crm__orders')] -%}
{%- if crm_retention.get_flag('crm_using_customers', true) -%}
{%- do sources.append(('customers', 'stg_crm__customers')) -%}
{%- endif -%}
{%- if crm_retention.get_flag('crm_using_nps', true) -%}
{%- do sources.append(('nps_responses', 'stg_crm__nps_responses')) -%}
{%- endif -%}
{%- if crm_retention.get_flag('crm_using_marketing_spend', true) -%}
{%- do sources.append(('marketing_spend', 'stg_crm__marketing_spend')) -%}
{%- endif %}
{%- if crm_retention.get_flag('crm_using_exchange_rates', false) -%}
{%- do sources.append(('exchange_rates', 'base_crm__exchange_rates')) -%}
{%- endif %}

with

rejected as (

    select
        source_table,
        count(*) as rejected_rows
    from {{ ref('crm__rejected_rows') }}
    group by source_table

),

row_counts as (

    {%- for source_table, staging_model in sources %}

    select
        '{{ source_table }}' as source_table,
        count(*) as raw_rows,
        0 as staged_rows
    from {{ source('crm', source_table) }}

    union all

    select
        '{{ source_table }}' as source_table,
        0 as raw_rows,
        {% if source_table == 'orders' -%}
        sum(lines) as staged_rows
        {%- else -%}
        count(*) as staged_rows
        {%- endif %}
    from {{ ref(staging_model) }}
    {%- if source_table == 'exchange_rates' %}
    where rejection_reason is null
    {%- endif %}
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

counts as (

    select
        source_table,
        sum(raw_rows) as raw_rows,
        sum(staged_rows) as staged_rows
    from row_counts
    group by source_table

),

checked as (

    select
        counts.source_table,
        counts.raw_rows,
        counts.staged_rows,
        coalesce(rejected.rejected_rows, 0) as rejected_rows
    from counts
    left join rejected
        on counts.source_table = rejected.source_table

)

select *
from checked
where raw_rows <> staged_rows + rejected_rows
