{#-
    Identity resolution (crm_identity: email, docs/definitions.md "Identity"): the key customer
    ids are matched on. The staged email is already trimmed (null when blank or a null token);
    the key is its lower-case form. With crm_identity_gmail_aliases, a Gmail address
    (gmail.com, googlemail.com) also loses the dots and any +tag of its local part, as Gmail
    delivers them all to one mailbox.
-#}
{% macro identity_key(email) -%}
    {%- set address = 'lower(' ~ email ~ ')' -%}
    {%- if crm_retention.get_flag('crm_identity_gmail_aliases', false) -%}
    {%- set at = dbt.position("'@'", address) -%}
    {%- set local_part = 'substr(' ~ address ~ ', 1, ' ~ at ~ ' - 1)' -%}
    {%- set untagged = 'case when ' ~ dbt.position("'+'", local_part) ~ ' > 0 then substr(' ~ local_part ~ ', 1, ' ~ dbt.position("'+'", local_part) ~ ' - 1) else ' ~ local_part ~ ' end' -%}
    case
        when substr({{ address }}, {{ at }} + 1) in ('gmail.com', 'googlemail.com')
            then {{ dbt.concat(["replace(" ~ untagged ~ ", '.', '')", "'@gmail.com'"]) }}
        else {{ address }}
    end
    {%- else -%}
    {{ address }}
    {%- endif -%}
{%- endmacro %}

{#- The rule a merge was made by, for the audit (crm__identity_merges). -#}
{% macro identity_rule() -%}
    {{ return('email_gmail_aliases' if crm_retention.get_flag('crm_identity_gmail_aliases', false) else 'email') }}
{%- endmacro %}
