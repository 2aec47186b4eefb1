from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "api_keys" ADD "workflow_ids" TEXT;
        ALTER TABLE "api_keys" ADD "allowed_addresses" TEXT;
        ALTER TABLE "api_keys" ADD "leak_dismissed_at" TIMESTAMPTZ;
        ALTER TABLE "api_key_events" ADD "workflow_ids" TEXT;
        ALTER TABLE "api_key_events" ADD "allowed_addresses" TEXT;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "api_keys" DROP COLUMN "workflow_ids";
        ALTER TABLE "api_keys" DROP COLUMN "allowed_addresses";
        ALTER TABLE "api_keys" DROP COLUMN "leak_dismissed_at";
        ALTER TABLE "api_key_events" DROP COLUMN "workflow_ids";
        ALTER TABLE "api_key_events" DROP COLUMN "allowed_addresses";"""


MODELS_STATE = (
    "eJztXW1v2zgS/iuEv2wWyAWx87rdwwFO4m59beNF4tx2tykURqJtwjLpFak6vl7++w1pyX"
    "p3JMfuyloBRWqTHIp6hhw+5Azpb40Jt4gtDtpT+p7MG2/QtwbDEwIfYjn7qIGn0yBdJUj8"
    "aOuieEqNMZnrRPwopINNCekDbAsCSRYRpkOnknIGqcy1bZXITShI2TBIchn90yWG5EMiR8"
    "SBjM+fG3zG4CPkqnappzS+fIFvlFnkiQhVRn2djo0BJbYVeQNqKTmdbsj5VKfd3XWv3uqS"
    "qg2Phsltd8KC0tO5HHG2LO661DpQMipvSKApWBIr9G6q6R4MftLiNSBBOi5ZNtUKEiwywK"
    "6tEGr8c+AyUwGD9JPUn+N/eU0LFTOM617fuO30DaNRAFCTM6UMyqQC6tvzot4AEJ3aUA+4"
    "fNe+2Ts6/VFDwIUcOjpTw9V41oJY4oWoBj1AWf+fwPlyhJ10nP3yMaShoetg7CcEIAe9zo"
    "fPB2gLkDYm+MmwCRvKEXw9PV4B8X/aNxrl02ONModBshg9115OS2cpsKPg6k5fEGBfpoIg"
    "t05Oc6AMpTJh1nlRnMMtKwB1TGwttD2jUE6wTw4Pc4ANpTLB1nlRsKlYNjuB9QXnNsEsw0"
    "RHBGNoP4Lktjr3MuX7WuWLXu+DqnkixJ+2Tuj2Yzjffbzo3Ow1NfxQiEqd3L3uxzAHe2CM"
    "sBgV6d1hmc0YkpdnxB221Qouk06BuUjylNa1KcPOPBvqqGy8d88lETtou1f17g+9i0jvBm"
    "wvutftm9/3PrY/aeAncy/rQ+/6F798mJ9c/N7vtFP0YGMhjQF3naL9PSJYwdkzT6/P7vSJ"
    "Pm86RCFh4JT+fgU5kk5IOthRyRjSlid64H/YRdzhBa0es+eemVsBfL/7sXPbb3/8NTIcrt"
    "r9jsppRUaCn7oX5zfLStBv3f47pL6iP3rXnfiQWZbr/9FQbcKu5AbjMwNbIYvsp/qoRbTu"
    "Tq01tR6VrLVeFq37GIXU7rU+0Lo2ja5YS+9x2Q1ovmS8eXcVnRzfIW1ZFtQrisyiqcLVWx"
    "ltnj8GwMEfx8CATso4ywN8VL562G9lC8Dhcs1JLSpZm7YymzbyNKVQ3RpajkrWWi6zlh3y"
    "lY/XG8sRyVrLZdayTfDYcB270CQZkqngxHh4fJ5nZoRi2VOjznxOIi2465iFXD0xsQrivQ"
    "0iolFzyJQ769GRNPnakJXekFlUTKhYc3mdVkGt8zLrfMad8cAGGWqlLK/75EmmqzouVwWj"
    "ukqvnU/9iEp905nuI/CLh0ztpXIbRC0stgHAYIOCFFJAqnCtheJa0JE9RlqQTjajCMtU0D"
    "vTOjnJxSdOVvCJE8UnVEzUYJwar7MMqIpi/pY7hA7Ze7LwUHahlZil8jYvMKzn17NjiD/7"
    "fcpPDUaig2fLMLJIV4O3h3cmC+f6Zfv2sn3VaWiQH7E5nmHHMjLQdgUeEsPC8xQbc+HJvn"
    "1/Q2ycEUQSCcO7U7Vd4XmFYE+fFN1Uo1wcsN+8Cu/ELjqTcmHmAJlzYD4SxISPr0TtZlHZ"
    "ra6rSoipscpbPDRGI6M3mTVpTeIpmMHos7xnqydFulrnK9GPy4igXWTv5wijNYgqmi+Ytt"
    "FjBEFpZ474AGGkdv5/EAi7FpVIIWAfoGuOBgvjjqB2JDmSI6I+vkGLJyHuSpt+JYjKg0YM"
    "5q08ICXQNxbTG4r7BQv8pVCI7wUddlkGeUtlDpQluro3IZQ3lmmomvCPn1qto6Oz1uHR6f"
    "nJ8dnZyfnh+b5aDUJeMutsVSxO9xcVMxYhFX4QWXbo7xhevgh788tXkLk182wENbP3gZqJ"
    "bSBlCYpFsAcSm4xiL4dFXytoPQpm0UD1sEwFe+zmHdjmCDOYIH1TUQDqpOT3A7zR2FG4h1"
    "CKKNrHWRramXNgQu7l6bD8mxfehNhqHp8dnx+dHi/nwWXKqukvGS/tAHPBNnRJWuhAQEys"
    "CttC257nai9e7cX7i/HehhdPL+TWDjZJStfenNqbs/t6rb05VdWCaVPC5DoBw0nJKuC/bf"
    "a/Xoxw1SODT5qtPOdVm63s86oqL+aoNE3XcdYKzIiJVvDAS5Vm8dojXXukS+S02t+gR3r7"
    "/q+lbzrTBRb2Xr/sBYt6zl/2hL3jMwRNnCNlSAXC2hc1w0K5rCzEGfwj6K5/iaBKtDdzqJ"
    "SEoce5dlapusfaszWwXTEi4mcQn8qEN2wbD7lnA+6gnw6VjPgxy0H22QdGtwknr8H5HKTW"
    "rrLSucosnHKHi+IO6eB7xVfxhd01dGmoqvk/yXCLbGu76Yu3fLvZZUNq09vZvlEt5lCMSt"
    "VOxdU0JmSfX0lkgjvXdhPXF5lMtGOVj8uEw8Yy6UwstuxlRpOIbnstqZEcOe6Cc/h1xzjI"
    "PsLM0uTDhl4kJPJXmQVYzZpPuWc5+Q8qTH9Cu6Y1G9pFNhRTYN61dkysisvtXPettVbct9"
    "ZK3rdWc8+ae/6F3LNk98aUDe4qbaDWy4x6mVEvM3IsMxZb1SlLi+UedvZyQm8D51w/tNEU"
    "KDkQ7ImO3EezEUcjIPaSu+ZIcfsRFQgyvlKT/IweqPWAIEGRdZjRhLqXWvIxYUDZH4T7+J"
    "A8HrDpB9yze9aHXAcWGeSJCgnS6jwBluosgTNHi1BRtShZHkZQV48jEzNkc3OMqHyzKL/4"
    "JqBJ8GVMyFRA5Q34PIHxhq612D48BAC053o543XU+4buTSAIaxeHQJdXzVCrFFVIvyZ2HH"
    "WewV+h5DzVUGg1kk2DN8l+S3Qj68ZcTatWHvWFldna2M2rC7MurExMoXmOa4Z/yeC1Zw93"
    "sAvkOnAYHE97LULLM3FVgWmblCF6NDOFOiTObmZTiJQzo3m4BIyMH/REOIEpcCGL8ECq+R"
    "DpS/Cg5BuYgJGQ1LYRzNcUXk4gl8F39BAEtD6gPUUB9EmEFEqxlefcsymU41aoDoTFGDgK"
    "PGgf/Zc4XLEKobr3Yi9ysa2JmZgB30KdT792bzpXXkMUw8h9ljFE2UNBvdmbk/Vl7VsKn1"
    "txlLEMl7eXLLRu1bbvlu5uL9H1jCWddMpOx3LtE9X3M/4dtFzvBta7gfVuYJ6gAyCm5iiN"
    "03s5K8k8Dsps9Lf3XrN59Xfxo7/SSZbNR2FNIwr+GFlIpIqe8c3tDoat57QIwl7xCqLbzB"
    "V30FwRd9BMxh3AE2Xq+aR/3/auMzZZA5E4t6OmRP9DNhU7vGOUBq4CI8LoEqfx4gfvYiRB"
    "VXCRxhK+52T2/H+eQhvC"
)
