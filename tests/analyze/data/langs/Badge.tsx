import React from "react";

export interface BadgeProps {
  label: string;
  tone?: "info" | "warning";
}

export function Badge({ label, tone = "info" }: BadgeProps): JSX.Element {
  return <span className={`badge badge-${tone}`}>{label}</span>;
}
