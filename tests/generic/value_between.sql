{#-
    Every non-null value lies in [min_value, max_value]; either bound may be left out. For
    ranges the definitions guarantee (scores 1-5, fractions that cannot exceed 1, counts that
    cannot be negative); nulls are left to not_null.
-#}
{% test value_between(model, column_name, min_value=none, max_value=none) %}

{%- if min_value is none and max_value is none -%}
    {{ exceptions.raise_compiler_error("value_between on " ~ column_name ~ " needs min_value, max_value or both") }}
{%- endif %}

select {{ column_name }} as out_of_range_value
from {{ model }}
where
    {{ column_name }} is not null
    and (
        {%- if min_value is not none %}
        {{ column_name }} < {{ min_value }}
        {%- endif %}
        {%- if min_value is not none and max_value is not none %}
        or
        {%- endif %}
        {%- if max_value is not none %}
        {{ column_name }} > {{ max_value }}
        {%- endif %}
    )

{% endtest %}
