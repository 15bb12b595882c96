{#-
    Nothing is lost: for each enabled source, its raw rows are the rows crm__raw_row_outcomes
    accounts for (staged, counted from the staging models, plus rejected, from
    crm__rejected_rows). Returns the sources where the counts differ.
-#}
{%- set sources = ['orders'] -%}
{%- if crm_retention.get_flag('crm_using_customers', true) -%}{%- do sources.append('customers') -%}{%- endif -%}
{%- if crm_retention.get_flag('crm_using_nps', true) -%}{%- do sources.append('nps_responses') -%}{%- endif -%}
{%- if crm_retention.get_flag('crm_using_marketing_spend', true) -%}{%- do sources.append('marketing_spend') -%}{%- endif -%}
{%- if crm_retention.get_flag('crm_using_exchange_rates', false) -%}{%- do sources.append('exchange_rates') -%}{%- endif %}

with

outcomes as (

    select
        source_table,
        sum(raw_rows) as accounted_rows
    from {{ ref('crm__raw_row_outcomes') }}
    group by source_table

),

raw_counts as (

    {%- for source_table in sources %}

    select
        '{{ source_table }}' as source_table,
        count(*) as raw_rows
    from {{ source('crm', source_table) }}
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

checked as (

    select
        raw_counts.source_table,
        raw_counts.raw_rows,
        coalesce(outcomes.accounted_rows, 0) as accounted_rows
    from raw_counts
    left join outcomes
        on raw_counts.source_table = outcomes.source_table

)

select *
from checked
where raw_rows <> accounted_rows
