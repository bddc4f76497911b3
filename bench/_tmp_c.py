import asyncio
from bench import checkout
async def main():
    for _ in range(2):
        ours = await checkout.embedded(2000)
        print("embedded", round(ours.rate), ours.p50_ms, ours.p99_ms, getattr(ours, "place_p99_ms", None), flush=True)
asyncio.run(main())
