{#-
    The period grain of SPEC section 2. A period is [period_start, next period_start); weeks
    start on Monday on every supported engine (ISO weeks). All period logic goes through these
    macros so the grain is chosen in one place: the crm_period var.
-#}

{#- First day of the period that contains a date. -#}
{% macro period_start(date_expression, period=none) -%}
    {%- set grain = period or crm_retention.get_period() -%}
    {%- if grain == 'day' -%}
        cast({{ date_expression }} as date)
    {%- else -%}
        cast({{ dbt.date_trunc(grain, date_expression) }} as date)
    {%- endif -%}
{%- endmacro %}

{#- First day of the next period, from a period's first day. -#}
{% macro next_period_start(period_start_expression, period=none) -%}
    {%- set grain = period or crm_retention.get_period() -%}
    {%- if grain == 'week' -%}
        {{ crm_retention.add_days(period_start_expression, 7) }}
    {%- elif grain == 'day' -%}
        {{ crm_retention.add_days(period_start_expression, 1) }}
    {%- else -%}
        {{ crm_retention.add_months(period_start_expression, {'month': 1, 'quarter': 3, 'year': 12}[grain]) }}
    {%- endif -%}
{%- endmacro %}

{#- Last day of a period, from its first day. -#}
{% macro period_end(period_start_expression, period=none) -%}
    {{ crm_retention.add_days(crm_retention.next_period_start(period_start_expression, period), -1) }}
{%- endmacro %}

{#- Whole numbers 0 .. 10^digits - 1, from cross-joined digits: a spine without recursive SQL. -#}
{% macro integers(digits=5) -%}
    {%- for position in range(digits) %}
    {{ 'select' if loop.first else 'cross join' }}
    {%- if loop.first %}
        {% for other in range(digits) -%}
        digits_{{ other }}.digit{% if other > 0 %} * {{ 10 ** other }}{% endif %}{{ ' +' if not loop.last }}
        {% endfor -%}
        as n
    from
    {%- endif %}
        (
            {% for digit in range(10) -%}
            select {{ digit }} as digit{{ ' union all' if not loop.last }}
            {% endfor %}
        ) as digits_{{ position }}
    {%- endfor %}
{%- endmacro %}
