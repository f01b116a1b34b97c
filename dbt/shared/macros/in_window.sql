{#- The run's partition window [min_date, max_date), staged by the platform as main.run_window
    in the run's database (platform_resources/products/dbt_gold.py). A table rather than dbt
    vars: vars change every run and would void dbt's partial parsing. -#}
{% macro in_window(column) -%}
{{ column }} >= (select min_date from main.run_window) and {{ column }} < (select max_date from main.run_window)
{%- endmacro %}
