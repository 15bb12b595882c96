{#-
    Named RFM segments from the three 1-5 scores (5 best). The first matching rule wins. To use
    your own mapping, override it through dispatch: define `default__rfm_segment` and
    `default__rfm_segments` (the list of names, used by the accepted_values tests) in your
    project and add
        dispatch: [{macro_namespace: crm_retention, search_order: [your_project, crm_retention]}]
    to your dbt_project.yml.
-#}
{% macro rfm_segment(recency_score, frequency_score, monetary_score) %}
    {{ return(adapter.dispatch('rfm_segment', 'crm_retention')(recency_score, frequency_score, monetary_score)) }}
{% endmacro %}

{% macro default__rfm_segment(r, f, m) -%}
    case
        when {{ r }} >= 4 and {{ f }} >= 4 and {{ m }} >= 4 then 'champions'
        when {{ r }} <= 2 and {{ f }} >= 4 and {{ m }} >= 4 then 'cant_lose'
        when {{ r }} >= 3 and {{ f }} >= 4 then 'loyal'
        when {{ r }} <= 2 and {{ f }} >= 3 then 'at_risk'
        when {{ r }} >= 4 and {{ f }} <= 1 then 'new'
        when {{ r }} >= 4 and {{ f }} <= 3 then 'potential_loyalists'
        when {{ r }} = 3 and {{ f }} <= 3 then 'need_attention'
        when {{ r }} = 2 and {{ f }} <= 2 then 'hibernating'
        when {{ r }} = 1 and {{ f }} <= 2 then 'lost'
    end
{%- endmacro %}

{#- Every segment the mapping can give, for accepted_values tests and docs; override it with rfm_segment. -#}
{% macro rfm_segments() %}
    {{ return(adapter.dispatch('rfm_segments', 'crm_retention')()) }}
{% endmacro %}

{% macro default__rfm_segments() %}
    {{ return(['champions', 'cant_lose', 'loyal', 'at_risk', 'new', 'potential_loyalists', 'need_attention', 'hibernating', 'lost']) }}
{% endmacro %}

{#-
    A coarse group of a money or rate value that never decreases as the value grows: eight
    groups per factor e of the magnitude, negative values below zero. A rank over all rows is
    the number of rows in the groups before a row's group plus its rank inside its own group, a
    window partitioned by the group, so a distributed engine spreads it (RFM scores, the at-risk
    ranks). Groups stay few: about 170 from 0 to 1e9, as many below zero.
-#}
{% macro value_group(value) -%}
    {%- set magnitude = 'ln(1 + abs(cast(' ~ value ~ ' as ' ~ crm_retention.type_rate() ~ ')))' -%}
    cast(case
        when {{ value }} >= 0 then floor({{ magnitude }} * 8)
        else -1 * floor({{ magnitude }} * 8) - 1
    end as {{ dbt.type_int() }})
{%- endmacro %}

{#-
    1 where a value lies above an RFM boundary, else 0 (also without a boundary): a value equal
    to the boundary stays below it, so equal customers get equal scores
    (int_crm__customer_rfm_scores).
-#}
{% macro passes_boundary(value, boundary_value) -%}
    case
        when {{ value }} > {{ boundary_value }} then 1
        else 0
    end
{%- endmacro %}
