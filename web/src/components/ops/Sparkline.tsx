// A small line of a figure's recent values, drawn as inline SVG (no chart library).
const WIDTH = 160;
const HEIGHT = 36;

export function Sparkline({ values, label }: { values: number[]; label: string }) {
  const top = Math.max(...values, 0) || 1;
  const step = values.length > 1 ? WIDTH / (values.length - 1) : 0;
  const points = values
    .map((value, index) => `${(index * step).toFixed(1)},${(HEIGHT - 2 - (value / top) * (HEIGHT - 4)).toFixed(1)}`)
    .join(" ");
  return (
    <svg
      className="sparkline"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      width={WIDTH}
      height={HEIGHT}
      role="img"
      aria-label={label}
      preserveAspectRatio="none"
    >
      <line x1="0" y1={HEIGHT - 2} x2={WIDTH} y2={HEIGHT - 2} className="sparkline-base" />
      {values.length > 1 ? (
        <polyline points={points} className="sparkline-line" />
      ) : values.length === 1 ? (
        <circle
          cx={WIDTH / 2}
          cy={HEIGHT - 2 - ((values[0] ?? 0) / top) * (HEIGHT - 4)}
          r="2"
          className="sparkline-dot"
        />
      ) : null}
    </svg>
  );
}
